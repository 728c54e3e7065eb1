"""The ``nndl`` command line: ``nndl train``, ``nndl reproduce``, ``nndl bench``.

    nndl train                                   # the book's 784-30-10 network, L1, 30 epochs
    nndl train --regularization l2 --lmbda 5 --epochs 10 --save net.json --plot curves.png
    nndl train --data fashion-mnist --json       # one JSON object per line, per epoch
    nndl reproduce --quick --out results/        # chapter 3's comparison, as a Markdown report
    nndl reproduce --chapter 5 --out docs/book/  # the book's chapter-5 figures, 5 seeds each
    nndl reproduce --chapter 6 --quick --rows 1,2 --out docs/book/  # rows 1-2 in full, the others' runs reused

User mistakes (bad flags, missing files, data that does not fit the network) print one line on
stderr and exit with status 1 (2 for a bad command line); Ctrl-C stops training at the next
mini-batch boundary, keeps what was trained (``--save``) and exits with status 130.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .parser import build_parser
from .status import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from .train import train_command


def reproduce_command(args: argparse.Namespace) -> int:
    """``nndl reproduce``: returns the exit status."""
    from .. import plots, reproduce

    plots.require_matplotlib()
    log = None if args.quiet else (lambda text: print(text, flush=True))
    if args.chapter is not None:
        from .. import book
        from ..book import runs

        if args.epochs is not None or args.seed != 1:
            raise UsageError("nndl reproduce: --epochs and --seed belong to the run without --chapter; use --seeds")
        runs.set_jobs(args.jobs)
        if args.jobs > 1:
            import nndl

            nndl.set_num_threads(1)  # --jobs: one engine thread per run, as its help says
        options = {}
        if args.rows is not None:
            if args.chapter != 6:
                raise UsageError("nndl reproduce: --rows belongs to --chapter 6")
            from ..book import chapter6

            try:
                options["full_rows"] = chapter6.experiment_names(args.rows)
            except ValueError as error:
                raise UsageError(f"nndl reproduce: --{error}") from None
        runs.set_cache(args.cache)
        book.reproduce(
            args.chapter, args.out, quick=args.quick, seeds=args.seeds, log=log or (lambda text: None), **options
        )
        if not args.quiet:
            chapter_report, results = (
                os.path.join(args.out, name) for name in (f"chapter{args.chapter}.md", "results.json")
            )
            print(f"Wrote {chapter_report} and {results}")
        return 0
    if args.seeds is not None or args.jobs != 1 or args.cache is not None or args.rows is not None:
        raise UsageError(
            "nndl reproduce: --seeds, --jobs, --cache and --rows need --chapter (the run without it uses --seed)"
        )
    report = reproduce.run(args.out, quick=args.quick, epochs=args.epochs, seed=args.seed, log=log)
    if not args.quiet:
        print(f"Wrote {report}")
    return 0


def bench_command(argv: Sequence[str]) -> int:
    """``nndl bench``: hands the rest of the command line to ``nndl.bench.main``."""
    from .. import bench  # imported here: it is the only command that needs it

    status = bench.main(list(argv))
    return int(status or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``nndl`` entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from ..plots import PlotDependencyError
    from ..training.errors import DivergenceError

    try:
        if argv and argv[0] == "bench":
            return bench_command(argv[1:])
        args = build_parser().parse_args(argv)
        command = {"train": train_command, "reproduce": reproduce_command}[args.command]
        return int(command(args))
    except UsageError as error:
        print(_one_line(str(error)), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("nndl: interrupted; nothing saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, OSError, DivergenceError, PlotDependencyError) as error:
        if os.environ.get("NNDL_DEBUG"):
            raise
        print(f"nndl: error: {_one_line(_describe(error))}", file=sys.stderr)
        return EXIT_ERROR


def _describe(error: BaseException) -> str:
    if isinstance(error, FileNotFoundError) and error.filename:
        return f"no such file: {error.filename}"
    if isinstance(error, IsADirectoryError) and error.filename:
        return f"{error.filename} is a directory, not a file"
    if isinstance(error, PermissionError) and error.filename:
        return f"permission denied: {error.filename}"
    return str(error) or type(error).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
