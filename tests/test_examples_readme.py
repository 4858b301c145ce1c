"""The FastAPI, Litestar and Django code the docs show is the code of ``examples/``, which
the framework tests run: each file appears verbatim, once, under its marker
``<!-- example: examples/FILE -->`` (on docs/integrations.md today)."""

from __future__ import annotations

import pytest

from tests.markdown_pages import ROOT, pages, relative


@pytest.mark.parametrize("name", ["fastapi_app.py", "litestar_app.py", "django_app.py"])
def test_the_docs_show_the_example_verbatim(name: str) -> None:
    code = (ROOT / "examples" / name).read_text()
    marker = f"<!-- example: examples/{name} -->"
    showing = [page for page in pages() if marker in page.read_text()]
    assert len(showing) == 1, [relative(page) for page in showing]
    text = showing[0].read_text()
    assert f"```python\n{code}```\n" in text
    assert f"{marker}\n```python\n{code}```\n" in text
