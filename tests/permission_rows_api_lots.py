"""Permission-matrix rows for the lots API (market/api/lots.py).

Merged into tests/test_permissions.py's MATRIX; see there for the roles and the world. The API
authenticates with bearer tokens only, so a login session changes nothing: the search is
public, the world's lot (a draft) is hidden from everyone without a `lots:write` token of its
holder, and every write needs a token (401). Tokens and scopes: tests/api/test_lots_api*.py.
"""

ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


PUBLIC = row(200, 200, 200, 200, 200, 200)
HIDDEN = row(404, 404, 404, 404, 404, 404)
NO_TOKEN = row(401, 401, 401, 401, 401, 401)

MATRIX = {
    "api_lots.search": ("GET", PUBLIC),
    "api_lots.get_lot": ("GET", HIDDEN),
    "api_lots.create_lot": ("POST", NO_TOKEN),
    "api_lots.publish_lot": ("POST", NO_TOKEN),
    "api_lots.withdraw_lot": ("POST", NO_TOKEN),
}
