import pytest

pytestmark = pytest.mark.django_db


def test_json_nested_too_deeply_is_a_400_not_a_500(api, buyer):
    body = '{"item_id": ' + "[" * 100000 + "]" * 100000 + "}"
    response = api(buyer).post("/api/orders", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
