"""Permission-matrix rows for the bids API (market/api/bids.py).

Merged into tests/test_permissions.py's MATRIX; see there for the roles and the world. The API
authenticates with bearer tokens only, so a login session changes nothing: the bids of a lot are
public once the lot is (SETUP publishes the world's draft), the organisation's bids and every
write need a token (401). Tokens, scopes and the rules: tests/api/test_bids_api.py.
"""

from market.core.timeutil import utcnow

ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


PUBLIC = row(200, 200, 200, 200, 200, 200)
NO_TOKEN = row(401, 401, 401, 401, 401, 401)

MATRIX = {
    "api_bids.lot_bids": ("GET", PUBLIC),
    "api_bids.my_bids": ("GET", NO_TOKEN),
    "api_bids.place": ("POST", NO_TOKEN),
    "api_bids.withdraw": ("POST", NO_TOKEN),
}


def _publish_world_lot(world) -> None:
    world.lot.state = "published"
    world.lot.published_at = utcnow()


SETUP = {"api_bids.lot_bids": _publish_world_lot, "api_bids.place": _publish_world_lot}
