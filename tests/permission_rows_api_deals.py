"""Permission-matrix rows for the agreements API (market/api/agreements.py) and the public ledger
API (market/api/ledger.py).

Merged into tests/test_permissions.py's MATRIX. The API authenticates with bearer tokens only, so
a login session changes nothing: the agreement of a deal needs a party's token (401 without one;
tokens and parties: tests/api/test_agreements_api.py); the ledger is public (the entry and the
head that tests/permission_rows_ledger.py builds); the consistency proof without ?first=&second=
is the same 422 for everyone (tests/api/test_ledger_api.py).
"""

ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


PUBLIC = row(200, 200, 200, 200, 200, 200)
NO_TOKEN = row(401, 401, 401, 401, 401, 401)
NO_SIZES = row(422, 422, 422, 422, 422, 422)

MATRIX = {
    "api_agreements.get_agreement": ("GET", NO_TOKEN),
    "api_agreements.get_agreement_pdf": ("GET", NO_TOKEN),
    "api_ledger.entry": ("GET", PUBLIC),
    "api_ledger.tree_head": ("GET", PUBLIC),
    "api_ledger.consistency": ("GET", NO_SIZES),
}
