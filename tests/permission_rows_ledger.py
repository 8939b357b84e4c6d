"""Permission-matrix rows for the public ledger (blueprint ledger): everything is public, the
same for every visitor. build() appends an entry and publishes a tree head."""

from __future__ import annotations

from market.ledger.operations import append, publish

ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


PUBLIC = row(200, 200, 200, 200, 200, 200)
# consistency.json needs ?first=&second=; without them every visitor gets the same 400.
NO_SIZES = row(400, 400, 400, 400, 400, 400)

MATRIX = {
    "ledger.index": ("GET", PUBLIC),
    "ledger.show_entry": ("GET", PUBLIC),
    "ledger.public_key": ("GET", PUBLIC),
    "ledger.api_latest_head": ("GET", PUBLIC),
    "ledger.api_head": ("GET", PUBLIC),
    "ledger.api_entry": ("GET", PUBLIC),
    "ledger.api_consistency": ("GET", NO_SIZES),
    "ledger.api_public_key": ("GET", PUBLIC),
}

URL_ARGUMENTS = {"sequence", "size"}


def build(world) -> dict:
    entry = append("org.verified", {"organization": {"id": world.org.id, "bin": world.org.bin,
                                                     "name": world.org.name}})
    head = publish()
    return {"sequence": entry.sequence, "size": head.size}
