"""The project's Markdown pages (README.md and docs/*.md) as the tests read them: their
fenced blocks with the marker line before each, their headings' anchors and their links.

A Python block is preceded by one marker line: ``<!-- runnable: NAME -->`` for a block the
tests execute as written (``tests/test_readme.py``), or ``<!-- example: examples/FILE -->``
for a block that is that file verbatim (``tests/test_examples_readme.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

RUNNABLE = "runnable"
EXAMPLE = "example"
_MARKER = re.compile(r"<!-- (runnable|example): (\S+) -->")
_FENCE = "```"
# [text](target), not an image; the target up to the first space or closing parenthesis
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_INLINE_CODE = re.compile(r"`[^`]*`")


def pages() -> list[Path]:
    """README.md, then every page of docs/ in name order."""
    return [README, *sorted(DOCS.glob("*.md"))]


def relative(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: Path
    line: int  # of the opening fence, from 1
    language: str  # the fence's info string ("python", "sh", "" ...)
    marker: tuple[str, str] | None  # (kind, name) of the marker line just before it
    code: str  # the lines between the fences, each ending in a newline

    @property
    def where(self) -> str:
        return f"{relative(self.page)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        if lines[index].startswith(_FENCE):
            start = index
            index += 1
            body: list[str] = []
            while index < len(lines) and not lines[index].startswith(_FENCE):
                body.append(lines[index])
                index += 1
            before = lines[start - 1].strip() if start else ""
            match = _MARKER.fullmatch(before)
            marker = (match.group(1), match.group(2)) if match else None
            code = "".join(f"{line}\n" for line in body)
            found.append(Block(page, start + 1, lines[start][3:].strip(), marker, code))
        index += 1
    return found


def prose(page: Path) -> list[str]:
    """The lines of ``page`` outside its fenced blocks."""
    outside: list[str] = []
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith(_FENCE):
            fenced = not fenced
        elif not fenced:
            outside.append(line)
    return outside


@cache
def runnable_blocks() -> dict[str, Block]:
    """Every block marked runnable, by name, across all pages (a name is used once)."""
    named: dict[str, Block] = {}
    for page in pages():
        for block in blocks(page):
            if block.marker is not None and block.marker[0] == RUNNABLE:
                name = block.marker[1]
                if name in named:
                    raise AssertionError(f"{block.where}: {name!r} is also {named[name].where}")
                named[name] = block
    return named


def slug(heading: str) -> str:
    """The anchor a Markdown renderer (GitHub's) gives a heading's text: lowercase, no
    punctuation but ``-`` and ``_``, spaces as ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of ``page``'s headings (a repeated heading gets ``-1``, ``-2``, ...)."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for line in prose(page):
        match = re.match(r"#{1,6} (.+)", line)
        if match is None:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def _text(page: Path) -> str:
    # the prose without its code spans (which may wrap from one line to the next)
    return _INLINE_CODE.sub("", "\n".join(prose(page)))


def links(page: Path) -> list[str]:
    """The targets of ``page``'s Markdown links, outside code (a link's text may wrap)."""
    return _LINK.findall(_text(page))


def bare_urls(page: Path) -> list[str]:
    """``http(s)://`` addresses in ``page``'s text outside code (a renderer links them)."""
    return re.findall(r"https?://\S+", _text(page))
