"""The baseline: a plain Starlette JSON endpoint with no authentication at all.

Served by the suite as ``bench.baseline:app``, with the same uvicorn options as the example,
so every other row is a ratio against what the framework alone costs.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# About the size of the example's profile answer, in the same envelope shape.
PROFILE_LIKE = {
    "success": True,
    "data": {
        "id": "0b6f8c1e-6a53-4a61-9d07-2f0c9f5d3b11",
        "username": "bench_user",
        "email": "bench_user@example.com",
        "fullName": "Bench User",
        "roles": [],
    },
    "message": "Profile",
}


async def profile_like(request: Request) -> Response:
    return JSONResponse(PROFILE_LIKE)


async def health(request: Request) -> Response:
    return JSONResponse({"success": True})


app = Starlette(routes=[Route("/", profile_like), Route("/health", health)])
