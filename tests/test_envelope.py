"""The envelope's rendering: the same bytes and headers as Starlette's ``JSONResponse``
would give, whether orjson (the speedups extra) writes them or the standard library."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from importlib.util import find_spec
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from authgate import envelope
from authgate.http.responses import NO_STORE, render_json


class Colour(StrEnum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int


def json_values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
        ),
        max_leaves=20,
    )


exact = st.none() | st.booleans() | st.integers() | st.text()
floats = st.floats(allow_nan=False, allow_infinity=False)


def starlette_bytes(content: Any) -> bytes:
    return bytes(JSONResponse(content).body)


@given(json_values(exact))
def test_any_json_value_without_floats_renders_as_starlette_renders_it(content: Any) -> None:
    assert render_json(content) == starlette_bytes(content)


@given(json_values(exact | floats))
def test_floats_keep_their_exact_value(content: Any) -> None:
    # orjson may write an exponent without its leading zero (1.5e-7 for 1.5e-07)
    assert json.loads(render_json(content)) == json.loads(starlette_bytes(content))


@pytest.mark.parametrize(
    "content",
    [
        {1: "an integer key"},
        {"huge": 2**70},
        {"colour": Colour.RED},
        {"text": 'é\u2028"\\\n\x00'},
    ],
)
def test_what_orjson_declines_or_might_differ_on_renders_as_starlette_does(content: Any) -> None:
    assert render_json(content) == starlette_bytes(content)


@pytest.mark.parametrize("content", [{"when": datetime.now(UTC)}, {"point": Point(1)}, {object()}])
def test_what_the_standard_library_refuses_stays_refused(content: Any) -> None:
    with pytest.raises(TypeError):
        starlette_bytes(content)
    with pytest.raises(TypeError):
        render_json(content)


def test_the_documented_differences_of_orjson() -> None:
    # the speedups extra is in the dev group: without orjson this fails, it is never skipped
    assert find_spec("orjson") is not None
    assert render_json({"nan": float("nan"), "inf": float("inf")}) == b'{"nan":null,"inf":null}'
    value = uuid.uuid4()
    assert json.loads(render_json({"id": value})) == {"id": str(value)}


@pytest.mark.parametrize("status", [200, 201, 401, 503])
def test_the_envelope_has_exactly_the_headers_starlette_would_give(status: int) -> None:
    response = envelope(status, {"a": "é"}, "Done")
    expected = JSONResponse(json.loads(bytes(response.body)), status_code=status, headers=NO_STORE)
    assert response.body == expected.body
    assert sorted(response.raw_headers) == sorted(expected.raw_headers)


def test_extra_headers_are_kept_with_no_store() -> None:
    response = envelope(429, None, "Slow down", headers={"Retry-After": "7"})
    headers = dict(response.raw_headers)
    assert headers[b"retry-after"] == b"7"
    assert headers[b"cache-control"] == b"no-store"
    assert headers[b"content-length"] == str(len(response.body)).encode()


def test_a_response_without_a_body_gets_no_content_length() -> None:
    response = envelope(204)
    assert b"content-length" not in dict(response.raw_headers)
    assert dict(response.raw_headers)[b"cache-control"] == b"no-store"
