"""The endpoint table is the one place a path of the auth router is written: the router's
routes and the OpenAPI document both come from it; the example app uses the front door
only."""

from __future__ import annotations

import ast
import importlib
from collections import Counter
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route

import authgate
from authgate import AuthGate, alias_route
from authgate.http.endpoints import AuthEndpoints
from authgate.http.openapi import auth_openapi, route_keys
from authgate.http.operation import Operation
from authgate.http.recovery_endpoints import RecoveryEndpoints
from authgate.http.router import auth_router
from authgate.http.table import ENDPOINTS
from tests.conftest import register_and_login

EXAMPLE = Path(__file__).resolve().parent.parent / "app_example"


def test_every_method_and_path_is_one_row_with_its_own_operation_id() -> None:
    keys = Counter((endpoint.method, endpoint.path) for endpoint in ENDPOINTS)
    ids = Counter(endpoint.operation.operation_id for endpoint in ENDPOINTS)
    assert [key for key, count in keys.items() if count > 1] == []
    assert [name for name, count in ids.items() if count > 1] == []


def test_every_handler_is_a_method_of_an_endpoint_class() -> None:
    for endpoint in ENDPOINTS:
        owners = [
            cls
            for cls in (AuthEndpoints, RecoveryEndpoints)
            if getattr(cls, endpoint.handler.__name__, None) is endpoint.handler
        ]
        assert len(owners) == 1, endpoint


def test_the_router_serves_the_table_one_route_per_path(gate: AuthGate) -> None:
    routes = gate.router().routes
    assert route_keys(routes) == {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}
    paths = [route.path for route in routes if isinstance(route, Route)]
    assert len(paths) == len(set(paths)) == len({endpoint.path for endpoint in ENDPOINTS})
    # in the table's order, each named after the handler of its first row
    names: dict[str, str] = {}
    for endpoint in ENDPOINTS:
        names.setdefault(endpoint.path, endpoint.handler.__name__)
    assert [(route.path, route.name) for route in routes if isinstance(route, Route)] == list(
        names.items()
    )


def test_the_document_describes_the_very_rows_the_router_serves(gate: AuthGate) -> None:
    document = auth_openapi(gate.router().routes, prefix="/auth")
    for endpoint in ENDPOINTS:
        operation = document["paths"]["/auth" + endpoint.path][endpoint.method.lower()]
        assert operation["operationId"] == endpoint.operation.operation_id
        assert operation["tags"] == list(endpoint.operation.tags)
    assert isinstance(ENDPOINTS[0].operation, Operation)


def test_without_recovery_flows_the_router_has_the_auth_endpoints_only(gate: AuthGate) -> None:
    routes = auth_router(gate.service).routes
    expected = {
        (endpoint.method, endpoint.path)
        for endpoint in ENDPOINTS
        if getattr(AuthEndpoints, endpoint.handler.__name__, None) is endpoint.handler
    }
    assert route_keys(routes) == expected
    assert ("PATCH", "/me") in expected
    assert ("POST", "/forgot-password") not in expected


def test_an_alias_of_a_missing_route_is_refused(gate: AuthGate) -> None:
    auth = gate.router()
    with pytest.raises(LookupError, match="PATCH /nowhere"):
        alias_route(auth, "PATCH", "/nowhere", at="/api/x")
    with pytest.raises(LookupError, match="DELETE /me"):
        alias_route(auth, "DELETE", "/me", at="/api/x")


async def test_an_alias_answers_only_its_method_as_the_router_does(gate: AuthGate) -> None:
    auth = gate.router()
    app = Starlette(
        routes=[
            alias_route(auth, "get", "/me", at="/whoami"),
            Mount("/auth", app=auth),
        ],
        middleware=[gate.middleware()],
        exception_handlers=gate.exception_handlers,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"Origin": "http://testserver"},
    ) as client:
        account = await register_and_login(client)
        client.cookies.clear()
        auth_header = {"Authorization": f"Bearer {account.access_token}"}
        by_alias = await client.get("/whoami", headers=auth_header)
        by_router = await client.get("/auth/me", headers=auth_header)
        assert by_alias.status_code == 200
        assert by_alias.json() == by_router.json()
        assert (await client.head("/whoami", headers=auth_header)).status_code == 200
        patch = await client.patch("/whoami", headers=auth_header, json={"fullName": "No"})
        assert patch.status_code == 405


def test_the_routers_old_names_still_import_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"authgate\.http\.router"):
        front_door = authgate.auth_router
    assert front_door is auth_router
    endpoints = importlib.import_module("authgate.http.endpoints")
    with pytest.warns(DeprecationWarning, match=r"authgate\.http\.router"):
        assert endpoints.auth_router is auth_router
    with pytest.raises(AttributeError):
        endpoints.no_such_name  # noqa: B018


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


@pytest.mark.parametrize("path", sorted(EXAMPLE.glob("*.py")), ids=lambda path: path.name)
def test_the_example_imports_authgate_by_its_front_door_only(path: Path) -> None:
    own = {
        module
        for module in _imported_modules(path)
        if module == "authgate" or module.startswith("authgate.")
    }
    assert {
        module
        for module in own
        if module != "authgate" and not module.startswith("authgate.integrations.")
    } == set()


def test_the_front_door_lists_what_the_example_needs() -> None:
    for name in ("alias_route", "auth_openapi", "in_envelope", "openapi_route", "MAX_LOGIN"):
        assert name in authgate.__all__
        assert getattr(authgate, name) is not None
