"""Result tables in the documentation: generated from benchmarks/results/*/summary.json only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from disco_dock.benchmark.tables import TableError, fill_tables, main, update_tables

REPOSITORY = Path(__file__).resolve().parents[2]


def test_repository_tables_match_the_result_files():
    stale = update_tables(REPOSITORY, check=True)
    assert not stale, f"stale tables in {[str(path) for path in stale]}: run .venv/bin/python benchmarks/tables.py"


def test_only_the_text_between_markers_is_rewritten():
    text = "# Title\n\n<!-- table:a -->\nold\n<!-- /table:a -->\nkept `<!-- table:b -->` text\n<!-- table:b -->\n<!-- /table:b -->\n"
    filled = fill_tables(text, lambda name: f"| {name} |")
    assert filled == (
        "# Title\n\n<!-- table:a -->\n\n| a |\n\n<!-- /table:a -->\n"
        "kept `<!-- table:b -->` text\n<!-- table:b -->\n\n| b |\n\n<!-- /table:b -->\n"
    )
    assert fill_tables(filled, lambda name: f"| {name} |") == filled


@pytest.mark.parametrize(
    "text, message",
    [
        ("intro\n\n<!-- table:astex -->\n| old |\n", "README.md:3: <!-- table:astex --> has no closing <!-- /table:astex -->"),
        ("<!-- table:astex -->\n<!-- table:speed -->\n<!-- /table:speed -->\n", "README.md:1: <!-- table:astex --> has no closing"),
        ("<!-- table:astex -->\n<!-- /table:speed -->\n", "README.md:1: <!-- table:astex --> has no closing"),
        ("text\n<!-- /table:astex -->\n", "README.md:2: <!-- /table:astex --> has no opening <!-- table:astex -->"),
    ],
)
def test_unpaired_markers_are_clear_errors(text, message):
    with pytest.raises(TableError) as error:
        fill_tables(text, lambda name: "", "README.md")
    assert str(error.value).startswith(message)


def test_command_line_checks_and_rewrites(tmp_path, capsys):
    (tmp_path / "README.md").write_text("<!-- table:run -->\n<!-- /table:run -->\n")
    results = tmp_path / "benchmarks" / "results" / "run"
    results.mkdir(parents=True)
    (results / "summary.json").write_text(json.dumps({"markdown": "| method |\n| --- |"}))
    with pytest.raises(SystemExit) as exited:
        main(["--check"], tmp_path)
    assert exited.value.code == 1 and "stale: README.md" in capsys.readouterr().out
    main([], tmp_path)
    assert (tmp_path / "README.md").read_text() == "<!-- table:run -->\n\n| method |\n| --- |\n\n<!-- /table:run -->\n"
    main(["--check"], tmp_path)
    assert "tables up to date" in capsys.readouterr().out

    (tmp_path / "README.md").write_text("<!-- table:missing -->\n<!-- /table:missing -->\n")
    with pytest.raises(SystemExit) as exited:
        main([], tmp_path)
    error = capsys.readouterr().err
    assert exited.value.code == 2 and error == "error: table:missing: no benchmarks/results/missing/summary.json (run the benchmark first)\n"
