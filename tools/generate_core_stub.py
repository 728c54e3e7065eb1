"""Regenerate python/nndl/_core.pyi, the type stub of the compiled extension, from the built module.

The stub is pybind11-stubgen's output (the version pinned in the ``lint`` extra) with one header line
added; nobody edits it by hand. Run this after changing the signatures or docstrings in
cpp/bindings/module.cpp, with nndl installed from this checkout (the editable install rebuilds the
extension on import):

    python tools/generate_core_stub.py            # rewrite python/nndl/_core.pyi
    python tools/generate_core_stub.py --check    # exit 1 if the checked-in stub is not what the tool makes now

``--check`` runs in .ci/run beside mypy's stubtest: stubtest proves the stub describes the module,
the check proves the stub is the tool's output (so it carries the docstrings and argument names).
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
import tempfile
from pathlib import Path

STUB = Path(__file__).resolve().parent.parent / "python" / "nndl" / "_core.pyi"
HEADER = "# Generated from the built nndl._core by tools/generate_core_stub.py (pybind11-stubgen); do not edit.\n"


def generate() -> str:
    """The stub pybind11-stubgen writes for the importable nndl._core, with the header line."""
    with tempfile.TemporaryDirectory() as out:
        # --exit-code: an annotation the tool cannot resolve is an error, not a silent `...`.
        subprocess.run(
            [sys.executable, "-m", "pybind11_stubgen", "nndl._core", "--exit-code", "-o", out],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return HEADER + (Path(out) / "nndl" / "_core.pyi").read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the checked-in stub instead of writing")
    args = parser.parse_args(argv)
    fresh = generate()
    if not args.check:
        STUB.write_text(fresh, encoding="utf-8")
        print(f"wrote {STUB}")
        return 0
    current = STUB.read_text(encoding="utf-8") if STUB.exists() else ""
    if current == fresh:
        print(f"{STUB.name} is up to date")
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(current.splitlines(True), fresh.splitlines(True), "checked in", "generated now")
    )
    print(f"{STUB} differs from what pybind11-stubgen generates: run python tools/generate_core_stub.py")
    return 1


if __name__ == "__main__":
    sys.exit(main())
