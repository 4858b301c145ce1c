"""Reading a request body as one JSON object, within a size limit."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from authgate.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json_object(
    request: Request, *, max_bytes: int, allow_empty: bool = False
) -> dict[str, Any]:
    """The body as a JSON object.

    Raises:
        PayloadTooLarge: over ``max_bytes`` (checked while streaming, not only by header).
        UnsupportedMediaType: a non-empty body that is not ``application/json``.
        ValidationError: empty (unless ``allow_empty``), not UTF-8, not JSON, or not an object.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"Request body must be at most {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"Request body must be at most {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if allow_empty:
            return {}
        raise ValidationError("Request body must be a JSON object")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType()
    try:
        text = raw.decode("utf-8")
        body = json.loads(text, parse_constant=_reject_constant)
        # "\ud800" is valid JSON but no UTF-8 text: refuse it here, not in bcrypt or the driver.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeError:
        raise ValidationError("Request body is not valid UTF-8") from None
    except (ValueError, RecursionError):
        raise ValidationError("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("Request body must be a JSON object")
    return body
