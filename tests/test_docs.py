"""The worked examples in docs/ run as written."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def python_blocks(path: Path) -> list[str]:
    """The ```python fenced blocks of a markdown file."""
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("name", ["custom_modality.md"])
def test_doc_example_runs(name, capsys):
    blocks = python_blocks(DOCS / name)
    assert blocks, f"{name} has no python example"
    namespace: dict = {}
    exec(compile("\n".join(blocks), name, "exec"), namespace)
    samples = namespace["samples"]
    assert samples.isfinite().all()
    # Both modes are generated, in roughly equal measure.
    assert 0.3 < float((samples > 0).float().mean()) < 0.7
