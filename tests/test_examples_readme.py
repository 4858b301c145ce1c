"""The README's FastAPI, Litestar and Django code is the code of ``examples/``, which the
framework tests run."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["fastapi_app.py", "litestar_app.py", "django_app.py"])
def test_the_readme_shows_the_example_verbatim(name: str) -> None:
    code = (ROOT / "examples" / name).read_text()
    assert f"```python\n{code}```\n" in (ROOT / "README.md").read_text()
