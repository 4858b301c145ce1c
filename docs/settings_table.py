"""Write the settings table of docs/configuration.md again from ``authgate.config``.

Run ``uv run python docs/settings_table.py`` after adding or changing a setting; it
replaces what lies between the two markers and leaves the rest of the page alone.
"""

from __future__ import annotations

from pathlib import Path

from authgate.config import configuration_table

PAGE = Path(__file__).with_name("configuration.md")
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def main() -> None:
    page = PAGE.read_text(encoding="utf-8")
    before, rest = page.split(START, 1)
    _, after = rest.split(END, 1)
    PAGE.write_text(f"{before}{START}\n{configuration_table()}{END}{after}", encoding="utf-8")


if __name__ == "__main__":
    main()
