"""The results: rows of a markdown table, and a plot of the ratios."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    """One measured figure: what it is, its value, its ratio and the target it answers to.

    ``ratio`` is against the baseline named by the table (``× baseline``), or ``None`` where
    the row is itself a ratio or a size; ``met`` is ``None`` for rows without a target, and
    ``budget`` the share of the target the figure uses (≤ 1 meets it). ``label`` is the
    row's short name in the plot.
    """

    what: str
    value: str
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    budget: float | None = None
    label: str = ""


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


def _bars(axes: Any, labels: list[str], values: list[float], red: list[bool]) -> None:
    axes.barh(labels, values, color=["tab:red" if bad else "tab:blue" for bad in red])
    axes.invert_yaxis()
    for y, value in enumerate(values):
        axes.text(value, y, f" {value:.2f}", va="center", fontsize=8)


def plot(rows: list[Row], title: str, path: Path) -> None:
    """Two panels written to ``path`` (PNG): the ratios against the baseline, and the share
    of each target used (a bar past 1 misses it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratios = [row for row in rows if row.ratio is not None]
    budgets = [row for row in rows if row.budget is not None]
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(12, 0.4 * max(len(ratios), len(budgets)) + 2), width_ratios=[3, 2]
    )
    _bars(
        left,
        [row.label or row.what for row in ratios],
        [row.ratio or 0.0 for row in ratios],
        [row.met is False for row in ratios],
    )
    left.axvline(1.0, color="grey", linewidth=0.8)
    left.set_xlabel("req/s × baseline (plain Starlette, no auth)")
    _bars(
        right,
        [row.label or row.what for row in budgets],
        [row.budget or 0.0 for row in budgets],
        [row.met is False for row in budgets],
    )
    right.axvline(1.0, color="tab:red", linewidth=0.8)
    right.set_xlabel("share of the target used (≤ 1 meets it)")
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
