"""What a test of an error expects of the answer."""


def error_body(response, status: int, field: str | None) -> dict:
    """The JSON error of `response`, once its status, its field and its sentence are checked."""
    assert response.status_code == status, response.json()
    body = response.json()
    assert body["field"] == field, body
    assert body["error"]
    return body
