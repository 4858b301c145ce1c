"""The results: rows of a markdown table, and a plot of the ratios."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Row:
    """One measured figure: what it is, its value, its ratio and the target it answers to.

    ``ratio`` is against the baseline named by the table (``× baseline``), or ``None`` where
    the row is itself a ratio or a size; ``met`` is ``None`` for rows without a target.
    """

    what: str
    value: str
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


def verdict(met: bool | None) -> str:
    if met is None:
        return ""
    return "yes" if met else "**no**"


def markdown(rows: list[Row], header: str) -> str:
    """``header`` (the machine and the run), then the table."""
    lines = [header, "", "| what | value | × baseline | target | met? |", "|---|---:|---:|---|---|"]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(f"| {row.what} | {row.value} | {ratio} | {row.target} | {verdict(row.met)} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[Row], title: str, path: Path) -> None:
    """A horizontal bar chart of the rows that have a ratio, written to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [row for row in rows if row.ratio is not None]
    figure, axes = plt.subplots(figsize=(9, 0.45 * len(shown) + 1.5))
    names = [row.what for row in reversed(shown)]
    ratios = [row.ratio or 0.0 for row in reversed(shown)]
    colours = ["tab:red" if row.met is False else "tab:blue" for row in reversed(shown)]
    axes.barh(names, ratios, color=colours)
    axes.axvline(1.0, color="grey", linewidth=0.8)
    for y, ratio in enumerate(ratios):
        axes.text(ratio, y, f" {ratio:.2f}", va="center", fontsize=8)
    axes.set_xlabel("× baseline (plain Starlette, no auth: req/s)")
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
