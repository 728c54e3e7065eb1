"""``python -m nndl``: the same command line as the ``nndl`` entry point."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
