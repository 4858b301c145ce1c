"""The configuration table of the docs, generated from the settings' declarations."""

from __future__ import annotations

from dataclasses import fields

from authgate.config.rules import _SPEC, Spec, _code
from authgate.config.settings import Settings


def configuration_table() -> str:
    """Every setting as a Markdown table: variable, default, what it accepts, meaning.

    ``docs/configuration.md`` holds it; ``uv run python docs/settings_table.py`` writes it
    there again after a setting changes.
    """
    rows = ["| Variable | Default | Accepts | Meaning |", "| --- | --- | --- | --- |"]
    for each in fields(Settings):
        spec: Spec = each.metadata[_SPEC]
        names = " / ".join(_code(name) for name in (spec.env, spec.file_env) if name)
        default = spec.shown if spec.shown is not None else spec.parse.show(each.default)
        accepts = spec.parse.doc if spec.check is None else f"{spec.parse.doc}, {spec.check.doc}"
        cells = (names, default, accepts, spec.doc)
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"
