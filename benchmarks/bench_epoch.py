"""The README's performance table: ``python benchmarks/bench_epoch.py [--quick]``.

A thin wrapper of ``python -m nndl.bench`` (see nndl/bench.py for what is timed and how).
"""

import sys

from nndl.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
