"""The OpenAPI document: served without a token, lists the paths; errors elsewhere stay HTML."""

PATHS = {
    "/api/v1/sites": {"get"},
    "/api/v1/sites/{site_id}": {"get"},
    "/api/v1/streams": {"get"},
    "/api/v1/streams/{stream_id}": {"get"},
    "/api/v1/balances": {"get"},
    "/api/v1/streams/{stream_id}/records": {"get", "post"},
}


def test_openapi_document(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.is_json
    doc = r.get_json()
    assert doc["openapi"] == "3.0.3"
    assert doc["info"]["title"] == "Qaldyq API" and doc["info"]["version"] == "v1"
    for path, methods in PATHS.items():
        assert path in doc["paths"], path
        assert methods <= set(doc["paths"][path]), path
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "qdq_…"}
    assert doc["security"] == [{"bearerAuth": []}]


def test_openapi_documents_schemas(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    post = doc["paths"]["/api/v1/streams/{stream_id}/records"]["post"]
    assert {"201", "403", "404", "422"} <= set(post["responses"])
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]
    create = doc["components"]["schemas"]["RecordCreate"]
    assert set(create["required"]) == {"kind", "quantity", "event_date"}
    assert "correction" not in create["properties"]["kind"]["enum"]
    stream = doc["components"]["schemas"]["Stream"]["properties"]
    assert stream["balance"]["type"] == "string"  # decimals travel as strings
    for name in ("balance", "reserved", "available", "oldest_stock_date", "must_offer_since",
                 "hazardous"):
        assert name in stream
    query = doc["paths"]["/api/v1/streams/{stream_id}/records"]["get"]["parameters"]
    limit = next(p for p in query if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 500


def test_no_swagger_ui(client):
    r = client.get("/api/v1/swagger-ui")
    assert r.status_code == 404 and r.is_json


def test_web_errors_stay_html(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    r = client.get("/api-elsewhere")
    assert r.mimetype == "text/html"
