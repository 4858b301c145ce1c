"""The JSON envelope authgate answers in, checked the same way by every test."""

from __future__ import annotations

from typing import Any

import httpx

ENVELOPE_KEYS = frozenset({"statusCode", "data", "message", "success"})


def assert_envelope(
    response: httpx.Response, status: int | None = None, *, error_data: bool = False
) -> dict[str, Any]:
    """The response is the JSON envelope with ``status``; returns the parsed body.

    ``{"statusCode", "data", "message", "success"}`` and, on an error, ``errors`` (a list
    of ``{"field", "message"}``), nothing else; ``success`` matches the status, the message
    is never empty, no traceback leaks.

    Args:
        response: the answer to check.
        status: the status it must have; when not given, any below 500.
        error_data: an error may carry ``data`` (an unhealthy ``/health``: its report);
            otherwise an error's ``data`` is ``null``.
    """
    code = response.status_code
    if status is None:
        assert code < 500, response.text
    else:
        assert code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    body = response.json()
    assert isinstance(body, dict), body
    failed = code >= 400
    assert set(body) == (ENVELOPE_KEYS | {"errors"} if failed else ENVELOPE_KEYS)
    assert body["statusCode"] == code
    assert body["success"] is not failed
    assert isinstance(body["message"], str)
    assert body["message"]
    if failed:
        if not error_data:
            assert body["data"] is None
        assert isinstance(body["errors"], list)
        for error in body["errors"]:
            assert set(error) == {"field", "message"}, error
            assert isinstance(error["field"], str)
            assert isinstance(error["message"], str)
    return body
