"""Result tables in the documentation, generated from the benchmark result files only.

A table is the text between the lines `<!-- table:NAME -->` and `<!-- /table:NAME -->` of a
markdown file; NAME is a folder of `benchmarks/results/`, and the text is the "markdown" of that
folder's `summary.json` (written by the harness or `benchmarks/speed.py`). The files with
tables are `README.md`, `benchmarks/README.md` and the model cards `models/*.md`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from disco_dock.benchmark.cli import fail

MARKER = re.compile(r"^<!-- (/?)table:([A-Za-z0-9._-]+) -->[ \t]*$", re.MULTILINE)
"""A marker: a line of its own (a marker quoted inside a line is text)."""
RESULTS = Path("benchmarks") / "results"


class TableError(ValueError):
    """A marker without its partner, or a table without a readable summary (one line)."""


def _line(text: str, index: int) -> int:
    """The line number (from 1) of `text[index]`."""
    return text.count("\n", 0, index) + 1


def fill_tables(text: str, table: Callable[[str], str], source: str = "text") -> str:
    """`text` with the inside of every marker pair replaced by `table(NAME)` (blank lines
    around it). TableError naming `source` and the line for an unclosed or unopened marker."""
    pieces, position, opening = [], 0, None
    for marker in MARKER.finditer(text):
        closing, name = marker.group(1) == "/", marker.group(2)
        if opening is not None and (not closing or name != opening.group(2)):
            raise TableError(
                f"{source}:{_line(text, opening.start())}: {opening.group(0)} has no closing <!-- /table:{opening.group(2)} -->"
            )
        if not closing:
            opening = marker
            continue
        if opening is None:
            raise TableError(f"{source}:{_line(text, marker.start())}: {marker.group(0)} has no opening <!-- table:{name} -->")
        pieces += [text[position : opening.end()], f"\n\n{table(name).strip()}\n\n"]
        position, opening = marker.start(), None
    if opening is not None:
        raise TableError(f"{source}:{_line(text, opening.start())}: {opening.group(0)} has no closing <!-- /table:{opening.group(2)} -->")
    return "".join(pieces) + text[position:]


def summary_table(root: Path, name: str) -> str:
    """The "markdown" of `benchmarks/results/<name>/summary.json` under `root`; TableError when there is none."""
    path = root / RESULTS / name / "summary.json"
    try:
        return json.loads(path.read_text())["markdown"]
    except FileNotFoundError:
        raise TableError(f"table:{name}: no {path.relative_to(root)} (run the benchmark first)") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise TableError(f"{path.relative_to(root)}: no table in it ({type(error).__name__}: {error})") from None


def documents(root: Path) -> list[Path]:
    """The markdown files that may hold tables: README.md, benchmarks/README.md, models/*.md."""
    candidates = [root / "README.md", root / "benchmarks" / "README.md", *sorted((root / "models").glob("*.md"))]
    return [path for path in candidates if path.is_file()]


def update_tables(root: Path, check: bool = False) -> list[Path]:
    """Rewrite the tables of every document under `root` from the result files (with `check`,
    write nothing); the documents whose tables were (or, checking, would be) changed. Nothing is
    written when any document has a TableError."""
    texts = {path: path.read_text() for path in documents(root)}
    updated = {path: fill_tables(text, lambda name: summary_table(root, name), str(path.relative_to(root))) for path, text in texts.items()}
    stale = [path for path in texts if updated[path] != texts[path]]
    if not check:
        for path in stale:
            path.write_text(updated[path])
    return stale


def main(argv: list[str] | None, root: Path) -> None:
    """Command line: rewrite the tables, or (`--check`) exit 1 when any is stale; a bad marker
    or a missing summary: one line on stderr, exit status 2."""
    parser = argparse.ArgumentParser(description="Rewrite the result tables in the documentation from benchmarks/results/*/summary.json.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any table differs from its summary")
    check = parser.parse_args(argv).check
    try:
        stale = update_tables(root, check)
    except TableError as error:
        fail(error)
    for path in stale:
        print(f"{'stale' if check else 'rewrote'}: {path.relative_to(root)}")
    if check and stale:
        print("run: .venv/bin/python benchmarks/tables.py", file=sys.stderr)
        sys.exit(1)
    if not stale:
        print("tables up to date")
