"""Old module paths and names (before the package was laid out by layer) still import: the
very object of their new home, with a DeprecationWarning that names the old path.

Each is checked in this process (with the old module taken out of ``sys.modules`` first,
so an earlier import does not hide the warning) and in a fresh interpreter."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from typing import Any

import pytest

import authgate
from authgate._compat import MOVED

# (the old import, the new one, what the warning names): each binds the name ``imported``
CASES = [
    (
        "import authgate.middleware as imported",
        "import authgate.http.middleware as imported",
        "authgate.middleware",
    ),
    (
        "from authgate.middleware import AuthMiddleware as imported",
        "from authgate.http.middleware import AuthMiddleware as imported",
        "authgate.middleware",
    ),
    (
        "import authgate.routes as imported",
        "import authgate.http.endpoints as imported",
        "authgate.routes",
    ),
    (
        "from authgate.routes import principal_of as imported",
        "from authgate.http.endpoints import principal_of as imported",
        "authgate.routes",
    ),
    (
        "import authgate.users.database as imported",
        "import authgate.users as imported",
        "authgate.users.database",
    ),
    (
        "from authgate.users.database import SqlAlchemyUserStore as imported",
        "from authgate.users import SqlAlchemyUserStore as imported",
        "authgate.users.database",
    ),
    (
        "import authgate.openapi.schemas as imported",
        "import authgate.http.openapi.schemas as imported",
        "authgate.openapi.schemas",
    ),
    (
        "import authgate.token_cache as imported",
        "import authgate.tokens.cache as imported",
        "authgate.token_cache",
    ),
    (
        "from authgate.tokens import SecretKey as imported",
        "from authgate.tokens.codec import SecretKey as imported",
        "authgate.tokens.SecretKey",
    ),
    (
        "from authgate.tokens import MAX_TOKEN_LENGTH as imported",
        "from authgate.tokens.codec import MAX_TOKEN_LENGTH as imported",
        "authgate.tokens.MAX_TOKEN_LENGTH",
    ),
    (
        "from authgate.tokens import SESSION_ID as imported",
        "from authgate.tokens.claims import SESSION_ID as imported",
        "authgate.tokens.SESSION_ID",
    ),
    (
        "from authgate import AuthEndpoints as imported",
        "from authgate.http.endpoints import AuthEndpoints as imported",
        "authgate.AuthEndpoints",
    ),
    (
        "from authgate import error_response as imported",
        "from authgate.http.responses import error_response as imported",
        "authgate.error_response",
    ),
]
IDS = [old.removesuffix(" as imported") for old, _, _ in CASES]
# what every warning of an old path or name says (an old module under an old package gives
# one for each: the match takes both)
SAYS_MOVED = "has moved to|is not part of the public API"


def imported_by(statement: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(statement, namespace)  # noqa: S102 - the statements are this file's own
    return namespace["imported"]


def forget_old_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take every old path out of ``sys.modules`` (and off its parent package) for this
    test: importing it again goes through the finder, and warns, as a first import does."""
    for old in MOVED:
        monkeypatch.delitem(sys.modules, old, raising=False)
        parent, _, child = old.rpartition(".")
        if parent in sys.modules and child in vars(sys.modules[parent]):
            monkeypatch.delattr(sys.modules[parent], child)


@pytest.mark.parametrize(("old", "new", "named"), CASES, ids=IDS)
def test_an_old_import_warns_and_gives_the_new_object(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str, named: str
) -> None:
    forget_old_modules(monkeypatch)

    with pytest.warns(DeprecationWarning, match=SAYS_MOVED) as caught:
        before = imported_by(old)

    assert any(named in str(warning.message) for warning in caught)
    assert before is imported_by(new)


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_every_old_module_path_is_its_new_module(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    forget_old_modules(monkeypatch)

    with pytest.warns(DeprecationWarning, match=SAYS_MOVED) as caught:
        before = imported_by(f"import {old} as imported")

    said = f"{old} has moved to {new};"
    assert any(str(warning.message).startswith(said) for warning in caught)

    # the one module object of the new path, not a second copy loaded from the same file
    assert before is importlib.import_module(new)
    assert before.__name__ == new
    assert before is imported_by(f"import {new} as imported")


# run in a fresh interpreter: the warnings the old import gives, whether it gave the new
# import's object, and the files loaded as more than one module (authgate is imported
# first, so its own import adds no warning)
PROBE = """
import json, sys, warnings
import authgate
old, new = sys.argv[1:3]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    exec(old)
    before = imported
exec(new)
modules = {}
for module in list(sys.modules.values()):
    modules.setdefault(getattr(module, "__file__", None), set()).add(id(module))
print(json.dumps({
    "same": before is imported,
    "warnings": [[w.category.__name__, str(w.message)] for w in caught],
    "loaded_twice": sorted(f for f, ids in modules.items() if f and len(ids) > 1),
}))
"""


@pytest.mark.processes  # a fresh interpreter each
@pytest.mark.parametrize(("old", "new", "named"), CASES, ids=IDS)
def test_an_old_import_warns_in_a_fresh_interpreter(old: str, new: str, named: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, old, new],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(result.stdout)

    assert seen["same"] is True
    assert seen["loaded_twice"] == []
    # one warning; under "always" a name of a package may give it twice, as the import
    # system asks the package for the name before it binds it
    ours = {(category, message) for category, message in seen["warnings"] if named in message}
    assert [category for category, _ in ours] == ["DeprecationWarning"], seen["warnings"]


@pytest.mark.processes  # a fresh interpreter
def test_the_public_api_imports_without_a_warning() -> None:
    every_name = f"from authgate import {', '.join(authgate.__all__)}"
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", every_name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
