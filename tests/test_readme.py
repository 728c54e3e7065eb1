"""The README's code runs as written: the opening example and the Dask grid search."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import nndl

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_opening_example_trains_saves_and_loads(tmp_path):
    code = PYTHON_BLOCKS[0]
    assert "net.SGD(" in code and 'net.save("net.json")' in code
    done = run_python(code + "\nprint(max(evaluation_accuracy))\n", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    best = int(done.stdout.split()[-1])
    assert 9000 < best <= 10000  # validation images right, out of 10,000
    assert nndl.load(tmp_path / "net.json").sizes == [784, 30, 10]


@pytest.mark.slow
def test_dask_grid_search_example_is_the_file_and_runs(tmp_path):
    example = (ROOT / "examples" / "grid_search_dask.py").read_text(encoding="utf-8")
    assert example in PYTHON_BLOCKS, "the README's grid search differs from examples/grid_search_dask.py"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "grid_search_dask.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    match = re.search(
        r"best: \{'alpha': ([\d.]+), 'penalty': '(l[12])'\} CV accuracy ([\d.]+) test accuracy ([\d.]+)", done.stdout
    )
    assert match, done.stdout
    assert 0.85 < float(match.group(3)) <= 1 and 0.85 < float(match.group(4)) <= 1
