"""Permission-matrix rows for the registry, passports, officials' oversight, classifier, cadastre.

Merged into tests/test_permissions.py's MATRIX; see there for the roles and the world.
"""

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


VIEW = row(LOGIN, 403, 200, 200, 200, 200)  # members, officials of the region, admins
EDIT = row(LOGIN, 403, 200, 200, 403, 403)  # members with role >= member only
OFFICIAL = row(LOGIN, 403, 403, 403, 200, 200)
PUBLIC = row(200, 200, 200, 200, 200, 200)
ANY_USER = row(LOGIN, 200, 200, 200, 200, 200)

MATRIX = {
    "registry.index":            ("GET",  row(LOGIN, 302, 302, 302, 302, 302)),
    "registry.org_registry":     ("GET",  VIEW),
    "registry.new_site":         ("GET",  EDIT),
    "registry.edit_site":        ("GET",  EDIT),
    "registry.show_site":        ("GET",  VIEW),
    "registry.new_stream":       ("GET",  EDIT),
    "registry.show_stream":      ("GET",  VIEW),
    "registry.add_record":       ("POST", row(LOGIN, 403, 302, 302, 403, 403)),
    "registry.show_record":      ("GET",  VIEW),
    "registry.correct_record":   ("GET",  EDIT),
    "registry.compliance":       ("GET",  VIEW),
    "passport.edit_passport":    ("GET",  EDIT),
    "passport.print_passport":   ("GET",  VIEW),
    "passport.passport_pdf":     ("GET",  VIEW),
    "registry_official.organizations": ("GET", OFFICIAL),
    "registry_official.stocks":        ("GET", OFFICIAL),
    "registry_official.compliance":    ("GET", OFFICIAL),
    "refdata.list_codes":        ("GET",  PUBLIC),
    "refdata.show_code":         ("GET",  PUBLIC),
    "refdata.list_operations":   ("GET",  PUBLIC),
    "refdata.list_hazards":      ("GET",  PUBLIC),
    "refdata.search_codes_json": ("GET",  PUBLIC),
    "cadastre.map_view":         ("GET",  ANY_USER),
    "cadastre.map_data":         ("GET",  ANY_USER),
    "cadastre.list_org_formations": ("GET", ANY_USER),
    "cadastre.show_formation":   ("GET",  ANY_USER),
    "cadastre.new_formation":    ("GET",  EDIT),
    "cadastre.edit_formation":   ("GET",  EDIT),
    "cadastre.add_assay":        ("POST", row(LOGIN, 403, 302, 302, 403, 403)),
    "cadastre.delete_assay":     ("POST", row(LOGIN, 403, 302, 302, 403, 403)),
}

FORMS = {
    "registry.add_record": {"kind": "generated", "quantity": "1,5", "event_date": "2026-01-01"},
    "cadastre.add_assay": {"component": "Cu", "grade": "1", "unit": "pct"},
}

# The JSON API authenticates with bearer tokens only: a login session is never a credential.
NO_TOKEN = row(401, 401, 401, 401, 401, 401)
MATRIX.update({
    "api-docs.openapi_json": ("GET", PUBLIC),
    "api.list_sites": ("GET", NO_TOKEN),
    "api.get_site": ("GET", NO_TOKEN),
    "api.list_streams": ("GET", NO_TOKEN),
    "api.get_stream": ("GET", NO_TOKEN),
    "api.balances": ("GET", NO_TOKEN),
    "api.list_records": ("GET", NO_TOKEN),
    "api.create_record": ("POST", NO_TOKEN),
    "tokens.list_tokens": ("GET", row(LOGIN, 403, 403, 200, 403, 403)),
    "tokens.create_token": ("POST", row(LOGIN, 403, 403, 200, 403, 403)),
    "tokens.revoke_token": ("POST", row(LOGIN, 403, 403, 302, 403, 403)),
})
FORMS["tokens.create_token"] = {"name": "Интеграция", "scopes": "registry:read"}

MATRIX.update({
    "registry_io.new_import": ("GET", EDIT),
    "registry_io.show_import": ("GET", VIEW),
    "registry_io.import_progress": ("GET", VIEW),
    "registry_io.import_template": ("GET", VIEW),
    "registry_io.export": ("GET", VIEW),
    "registry_io.export_official": ("GET", OFFICIAL),
})

# The exchange. The world's lot is a draft of the (pending) organisation: hidden (404) from
# everyone but its members; publishing it is refused (pending organisation) with a flash.
HIDDEN_LOT = row(404, 404, 200, 200, 404, 404)
MATRIX.update({
    "lots.list_lots":   ("GET",  PUBLIC),
    "lots.my_lots":     ("GET",  row(LOGIN, 200, 200, 200, 302, 302)),
    # Without ?stream= a chooser of the current organisation's streams (managers only).
    "lots.new_lot":     ("GET",  row(LOGIN, 200, 403, 200, 302, 302)),
    "lots.show_lot":    ("GET",  HIDDEN_LOT),
    "lots.edit_lot":    ("GET",  row(LOGIN, 404, 403, 200, 404, 404)),
    "lots.publish_lot": ("POST", row(LOGIN, 404, 403, 302, 404, 404)),
    "lots.withdraw_lot": ("POST", row(LOGIN, 404, 403, 302, 404, 404)),
})
FORMS["lots.withdraw_lot"] = {"reason": "Проверка прав"}
MATRIX["lots.map_data"] = ("GET", PUBLIC)
