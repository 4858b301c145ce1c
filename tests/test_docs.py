"""The README and the docs/ pages hold together: every Python block is code the tests run,
every link leads to a page and a heading of this repository, and the commands the pages
repeat are the README's (which the run-command and benchmark tests execute)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.markdown_pages import (
    DOCS,
    EXAMPLE,
    README,
    ROOT,
    RUNNABLE,
    anchors,
    bare_urls,
    blocks,
    links,
    pages,
    relative,
    runnable_blocks,
)

PAGE_IDS = [relative(page) for page in pages()]
# the README lines other tests run: the suite's two bench commands, the uvicorn command
CHECKED_COMMANDS = re.compile(r"uv run python -m bench(\s|$)|uv run uvicorn app_example\.main:app")


def test_the_manual_has_its_pages() -> None:
    names = {page.name for page in DOCS.glob("*.md")}
    assert {
        "http-api.md",
        "sessions.md",
        "security.md",
        "configuration.md",
        "operations.md",
        "integrations.md",
        "recovery.md",
        "benchmarks.md",
        "decisions.md",
    } <= names


@pytest.mark.parametrize("page", pages(), ids=PAGE_IDS)
def test_every_python_block_is_run_by_the_tests(page: Path) -> None:
    """A Python block is marked runnable (``tests/test_readme.py`` executes it) or is a
    file of examples/ verbatim (``tests/test_examples_readme.py`` compares it)."""
    for block in blocks(page):
        if block.language != "python":
            assert block.marker is None, f"{block.where}: a marker on a {block.language} block"
            continue
        assert block.marker is not None, (
            f"{block.where}: mark the block <!-- runnable: NAME --> or "
            "<!-- example: examples/FILE -->"
        )
        kind, name = block.marker
        assert kind in (RUNNABLE, EXAMPLE)
        if kind == EXAMPLE:
            assert name.startswith("examples/"), block.where
            assert (ROOT / name).is_file(), block.where


def test_runnable_names_are_unique() -> None:
    assert runnable_blocks()  # raises on a name used twice
    assert {"starlette-app", "asgi-wrap"} <= {
        name for name, block in runnable_blocks().items() if block.page == README
    }


@pytest.mark.parametrize("page", pages(), ids=PAGE_IDS)
def test_links_stay_in_the_repository_and_resolve(page: Path) -> None:
    where = relative(page)
    for target in links(page):
        assert not re.match(r"[a-z][a-z0-9+.-]*:", target), (
            f"{where}: {target} leaves the repository"
        )
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.is_relative_to(ROOT), f"{where}: {target} is outside the repository"
        assert linked.exists(), f"{where}: {target} does not exist"
        if anchor:
            assert linked.suffix == ".md", f"{where}: {target}"
            assert anchor in anchors(linked), f"{where}: no heading for {target}"
    assert bare_urls(page) == [], f"{where}: an address outside code becomes a link"


def test_the_readme_links_every_page() -> None:
    linked = {target.partition("#")[0] for target in links(README)}
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert f"docs/{page.name}" in linked, page.name


def test_the_readme_keeps_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert any(line.startswith("uv run python -m app_example ") for line in lines)
    assert any(line.startswith("uv run pytest ") for line in lines)


def test_commands_the_docs_repeat_are_the_readme_s() -> None:
    readme = set(README.read_text(encoding="utf-8").splitlines())
    for page in pages()[1:]:
        for block in blocks(page):
            for line in block.code.splitlines():
                if CHECKED_COMMANDS.match(line):
                    assert line in readme, f"{block.where}: {line!r} differs from the README"
