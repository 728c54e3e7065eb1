"""The ``nndl`` command line, by idea: the entry point and the small commands (``main``), the
arguments (``parser``), ``nndl train`` (``train``), its progress bar (``progress``) and Ctrl-C
handling (``interrupt``), and the exit statuses (``status``)."""

from __future__ import annotations

from .main import main
from .parser import build_parser
from .progress import ProgressBar
from .status import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, UsageError

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_USAGE", "ProgressBar", "UsageError", "build_parser", "main"]
