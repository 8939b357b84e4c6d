"""Reference data: waste classifier, KATO regions, Basel operations, hazard properties."""
