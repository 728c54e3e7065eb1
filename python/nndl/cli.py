"""The ``nndl`` command line: ``nndl train``, ``nndl reproduce``, ``nndl bench``.

    nndl train                                   # the book's 784-30-10 network, L1, 30 epochs
    nndl train --regularization l2 --lmbda 5 --epochs 10 --save net.json --plot curves.png
    nndl train --data fashion-mnist --json       # one JSON object per line, per epoch
    nndl reproduce --quick --out results/        # chapter 3's comparison, as a Markdown report

User mistakes (bad flags, missing files, data that does not fit the network) print one line on
stderr and exit with status 1 (2 for a bad command line); Ctrl-C stops training at the next
mini-batch boundary, keeps what was trained (``--save``) and exits with status 130.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Sequence, TextIO

# The default lmbda for L1. With eta 0.5 and n = 50,000 the L1 step shrinks every weight by
# eta*lmbda/n = 5e-5 per mini-batch: strong enough to drive unused pixel weights to zero within a
# few epochs, weak enough that accuracy stays where L2 with the book's lmbda 5.0 has it (see
# `nndl reproduce`, which compares lmbda 1 and 5 for each L1 method).
DEFAULT_LMBDA = 5.0

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # the shell's convention for "stopped by SIGINT"

COST_NAMES = {"cross-entropy": "CrossEntropyCost", "quadratic": "QuadraticCost", "log-likelihood": "LogLikelihoodCost"}


class UsageError(Exception):
    """A bad command line; the message is the one line the user sees."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage block and exits; one line naming the problem is easier to
    # read, and raising lets main() choose the exit status.
    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _int_list(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected layer sizes such as 784,30,10, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected at least two positive layer sizes such as 784,30,10, got {text!r}")
    return sizes


def _bounded(kind: type, low: float | None = None, high: float | None = None, high_open: bool = False,
             low_open: bool = False) -> Callable[[str], Any]:
    """An argparse type converting to ``kind`` and checking bounds, with a one-line message."""
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
        if low is not None and (value < low or (low_open and value == low)):
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low:g}, got {text}")
        if high is not None and (value > high or (high_open and value == high)):
            raise argparse.ArgumentTypeError(f"must be {'<' if high_open else '<='} {high:g}, got {text}")
        return value
    return convert


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``nndl`` and its subcommands."""
    parser = _Parser(prog="nndl", description="Train the networks of Nielsen's Neural Networks and Deep Learning.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"nndl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{train,reproduce,bench}", parser_class=_Parser)
    commands.required = True

    train = commands.add_parser(
        "train", help="train a network (defaults: the book's 784-30-10 network on MNIST, L1)",
        description="Train a network with mini-batch SGD as the book's network2.py does. Defaults run the "
                    f"book's network: 784-30-10, 30 epochs, mini-batch 10, eta 0.5, cross-entropy, L1 with "
                    f"lmbda {DEFAULT_LMBDA}.")
    net = train.add_argument_group("network")
    net.add_argument("--sizes", type=_int_list, default=None,
                     help="layer sizes, e.g. 784,30,10 (default: inputs of the data, 30, its classes)")
    net.add_argument("--activation", default="sigmoid", choices=["sigmoid", "tanh", "relu"],
                     help="activation of the hidden layers (default: sigmoid)")
    net.add_argument("--output", default=None, choices=["sigmoid", "tanh", "relu", "softmax"],
                     help="activation of the output layer (default: the hidden one; softmax with log-likelihood)")
    net.add_argument("--cost", default="cross-entropy", choices=sorted(COST_NAMES), help="(default: cross-entropy)")
    net.add_argument("--dtype", default="float64", choices=["float64", "float32"], help="(default: float64)")
    net.add_argument("--seed", type=_bounded(int, 0), default=None,
                     help="seed of the initial weights, mini-batch order and dropout (default: random)")
    net.add_argument("--engine", default="cpp", choices=["cpp", "python"],
                     help="cpp (fast) or python (the book's per-example code; slow) (default: cpp)")
    net.add_argument("--threads", type=_bounded(int, 1), default=None, help="threads of the C++ engine")
    net.add_argument("--load", metavar="FILE", help="start from a network saved as the book's JSON")

    sgd = train.add_argument_group("training")
    sgd.add_argument("--epochs", "-e", type=_bounded(int, 0), default=30, help="(default: 30)")
    sgd.add_argument("--mini-batch-size", "-m", type=_bounded(int, 1), default=10, help="(default: 10)")
    sgd.add_argument("--eta", type=_bounded(float, 0, low_open=True), default=0.5, help="learning rate (default: 0.5)")
    sgd.add_argument("--lmbda", type=_bounded(float, 0), default=DEFAULT_LMBDA,
                     help=f"regularization strength, scaled by 1/n (default: {DEFAULT_LMBDA})")
    sgd.add_argument("--regularization", default="l1", choices=["none", "l2", "l1", "elastic-net"],
                     help="(default: l1)")
    sgd.add_argument("--l1-method", default="subgradient", choices=["subgradient", "proximal", "cumulative"],
                     help="how the L1 step is taken: the book's sgn(w) step, soft-thresholding, or cumulative "
                          "clipping (default: subgradient)")
    sgd.add_argument("--l1-ratio", type=_bounded(float, 0, 1), default=0.5,
                     help="elastic net: the L1 share of lmbda (default: 0.5)")
    sgd.add_argument("--dropout", type=_bounded(float, 0, 1, high_open=True), default=0.0,
                     help="probability of dropping a hidden unit (default: 0)")
    sgd.add_argument("--momentum", type=_bounded(float, 0, 1, high_open=True), default=0.0, help="(default: 0)")
    sgd.add_argument("--early-stopping", type=_bounded(int, 0), default=0, metavar="N",
                     help="stop after N epochs without a better validation accuracy (default: off)")
    sgd.add_argument("--halve-eta-after", type=_bounded(int, 0), default=0, metavar="N",
                     help="halve eta after N epochs without improvement (default: off)")

    data = train.add_argument_group("data")
    data.add_argument("--data", default="mnist",
                      help="mnist (bundled), fashion-mnist (downloaded once), or a directory with the four IDX "
                           "files under MNIST's names (default: mnist)")
    for split in ("train-images", "train-labels", "test-images", "test-labels"):
        data.add_argument(f"--{split}", metavar="PATH", help=f"the {split.replace('-', ' ')} IDX file (all four together)")
    data.add_argument("--validation-size", type=_bounded(int, 1), default=10000,
                      help="training images held out for validation, from the end (default: 10000)")
    data.add_argument("--limit", type=_bounded(int, 1), default=None, metavar="N",
                      help="use at most N images of each split (quick runs)")

    out = train.add_argument_group("output")
    out.add_argument("--save", metavar="FILE", help="save the trained network as the book's JSON (also on Ctrl-C)")
    out.add_argument("--plot", metavar="FILE", help="write the learning curves to a PNG (needs nndl[plot])")
    out.add_argument("--monitor-training", action="store_true",
                     help="also report cost and accuracy on the training data each epoch (on with --plot)")
    out.add_argument("--json", action="store_true", help="print one JSON object per line (start, epoch, end)")
    out.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors (and --json)")
    bar = out.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="show the progress bar even when stderr is not a terminal")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show the progress bar")
    train.set_defaults(func=train_command)

    repro = commands.add_parser(
        "reproduce", help="run the chapter-3 comparison (none, L2, L1 methods) and write a report",
        description="Train 784-30-10 on MNIST with no regularization, L2, each L1 method and elastic net, "
                    "and write report.md with a table and figures.")
    repro.add_argument("--quick", action="store_true", help="a small version (a subset, few epochs; about a minute)")
    repro.add_argument("--out", default="nndl-reproduce", metavar="DIR", help="where to write (default: nndl-reproduce)")
    repro.add_argument("--epochs", type=_bounded(int, 1), default=None, help="override the number of epochs")
    repro.add_argument("--seed", type=_bounded(int, 0), default=1, help="(default: 1)")
    repro.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    repro.set_defaults(func=reproduce_command)

    commands.add_parser("bench", help="measure the engines' speed (nndl bench --help)", add_help=False)
    return parser


# ---------------------------------------------------------------------------------------------
# Progress

class ProgressBar:
    """One self-overwriting line on a stream: mini-batches done, rate and time left in the epoch."""

    def __init__(self, stream: TextIO, enabled: bool, epochs: int, width: int = 28):
        self.stream, self.enabled, self.epochs, self.width = stream, enabled, epochs, width
        self._epoch_start = time.perf_counter()
        self._shown = 0

    def restart(self) -> None:
        """An epoch's training starts now (after the previous epoch's monitors)."""
        self._epoch_start = time.perf_counter()

    def update(self, epoch: int, done: int, total: int) -> None:
        if not self.enabled:
            return
        elapsed = max(time.perf_counter() - self._epoch_start, 1e-9)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else float("inf")
        filled = int(self.width * done / max(total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        text = (f"epoch {epoch + 1}/{self.epochs} [{bar}] {done}/{total} mini-batches  "
                f"{rate:,.0f}/s  ETA {_duration(left)}")
        self.stream.write("\r" + text.ljust(self._shown))
        self.stream.flush()
        self._shown = len(text)

    def clear(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _StopRequested(Exception):
    """Raised from the progress callback after Ctrl-C: training stops at that mini-batch boundary."""

    def __init__(self, epoch: int, done: int, total: int):
        super().__init__(epoch, done, total)
        self.epoch, self.done, self.total = epoch, done, total


class _InterruptFlag:
    """SIGINT sets a flag that the progress callback reads; a second SIGINT quits at once.

    Raising KeyboardInterrupt from the signal handler could land between two layers' updates of
    the Python engine; a flag read only between chunks of mini-batches stops cleanly instead.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "_InterruptFlag":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


# ---------------------------------------------------------------------------------------------
# nndl train

def _load_data(args: argparse.Namespace) -> tuple[tuple, tuple, tuple, str]:
    """(training, validation, test) as (X, y) arrays, and a name for the data."""
    from . import datasets
    paths = [args.train_images, args.train_labels, args.test_images, args.test_labels]
    if any(paths):
        if not all(paths):
            raise UsageError("nndl train: --train-images, --train-labels, --test-images and --test-labels go together")
        X, y = datasets.load_idx(args.train_images, args.train_labels, format="arrays")
        test = datasets.load_idx(args.test_images, args.test_labels, format="arrays")
        if X.shape[1] != test[0].shape[1]:
            raise ValueError(f"training images have {X.shape[1]} pixels but test images {test[0].shape[1]}")
        if not args.validation_size < len(X):
            raise ValueError(f"--validation-size {args.validation_size} leaves no training images of {len(X)}")
        cut = len(X) - args.validation_size
        training, validation, name = (X[:cut], y[:cut]), (X[cut:], y[cut:]), os.path.basename(args.train_images)
    else:
        if args.data.lower() not in datasets.DATASETS and not os.path.isdir(args.data):
            raise ValueError(f"--data: {args.data!r} is neither a known dataset ({', '.join(datasets.DATASETS)}) "
                             "nor a directory")
        try:
            training, validation, test = datasets.load(args.data, format="arrays", validation_size=args.validation_size)
        except ValueError as error:
            if str(error).startswith("validation_size"):
                raise ValueError(f"--validation-size: {str(error).split(': ', 1)[1]}") from None
            raise
        name = args.data
    if args.limit is not None:
        training, validation, test = [(X[:args.limit], y[:args.limit]) for X, y in (training, validation, test)]
    return training, validation, test, name


def _network(args: argparse.Namespace, n_in: int, n_classes: int) -> Any:
    import nndl
    from . import reference
    Engine = nndl.Network if args.engine == "cpp" else reference.Network
    if args.load:
        net = (nndl.load if args.engine == "cpp" else reference.load)(args.load)
        if args.sizes is not None and list(args.sizes) != net.sizes:
            raise ValueError(f"--sizes {','.join(map(str, args.sizes))} differs from the loaded network's "
                             f"{','.join(map(str, net.sizes))}; leave --sizes out to train the loaded one")
    else:
        sizes = args.sizes if args.sizes is not None else [n_in, 30, n_classes]
        if sizes[0] != n_in:
            raise ValueError(f"--sizes: the data has {n_in} inputs per image, so the first layer must be {n_in}, "
                             f"got {sizes[0]}")
        output = args.output
        if output is None and args.cost == "log-likelihood":
            output = "softmax"
        net = Engine(sizes, cost=COST_NAMES[args.cost], seed=args.seed, dtype=args.dtype,
                     activation=args.activation, output=output)
    if net.sizes[0] != n_in:
        raise ValueError(f"the network takes {net.sizes[0]} inputs but the data has {n_in} per image")
    if net.sizes[-1] < n_classes:
        raise ValueError(f"the network has {net.sizes[-1]} outputs but the data has {n_classes} classes")
    return net


def _emit_json(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _percent(correct: int, total: int) -> str:
    return f"{100.0 * correct / total:.2f}% ({correct}/{total})"


def train_command(args: argparse.Namespace) -> int:
    """``nndl train``: returns the exit status."""
    import nndl
    from .data import to_arrays

    quiet = args.quiet or args.json
    say: Callable[[str], None] = (lambda text: None) if quiet else (lambda text: print(text, flush=True))
    show_bar = args.progress if args.progress is not None else (sys.stderr.isatty() and not args.quiet)

    if args.plot:
        from . import plots
        plots.require_matplotlib()  # fail before training, not after
    if args.threads is not None:
        if hasattr(nndl, "set_num_threads"):
            nndl.set_num_threads(args.threads)
        elif not args.quiet:
            print("nndl: this build has no thread control; --threads is ignored", file=sys.stderr)

    training, validation, test, data_name = _load_data(args)
    n_in = training[0].shape[1]
    n_classes = int(max(training[1].max(), test[1].max())) + 1
    net = _network(args, n_in, n_classes)
    # Convert once; every epoch's monitors then read the same contiguous arrays.
    train_arrays = to_arrays(training, net.sizes[0], net.sizes[-1], net.dtype, "training data")
    val_arrays = to_arrays(validation, net.sizes[0], net.sizes[-1], net.dtype, "validation data") \
        if len(validation[0]) else None
    test_arrays = to_arrays(test, net.sizes[0], net.sizes[-1], net.dtype, "test data")
    if args.mini_batch_size > len(train_arrays):
        raise ValueError(f"--mini-batch-size {args.mini_batch_size} is larger than the {len(train_arrays)} training images")
    if (args.early_stopping or args.halve_eta_after) and val_arrays is None:
        raise ValueError("--early-stopping and --halve-eta-after watch the validation accuracy; there is no validation data")

    regularization = args.regularization.replace("-", "_")
    n = len(train_arrays)
    monitor_training = args.monitor_training or bool(args.plot)
    reg_text = "no regularization" if regularization == "none" else (
        f"{args.regularization.upper() if regularization != 'elastic_net' else 'elastic net'}"
        f"{f' ({args.l1_method})' if regularization in ('l1', 'elastic_net') else ''} lmbda {args.lmbda:g}")
    say(f"Training {net!r} on {n:,} images of {data_name} (validation {len(validation[0]):,}, test "
        f"{len(test_arrays):,}): {args.epochs} epochs, mini-batch {args.mini_batch_size}, eta {args.eta:g}, {reg_text}")
    if args.json:
        _emit_json({"event": "start", "sizes": net.sizes, "engine": args.engine, "data": data_name,
                    "n_training": n, "n_validation": len(validation[0]), "n_test": len(test_arrays),
                    "epochs": args.epochs, "mini_batch_size": args.mini_batch_size, "eta": args.eta,
                    "lmbda": args.lmbda, "regularization": regularization, "l1_method": args.l1_method,
                    "seed": args.seed})

    history: dict[str, list] = {"evaluation_cost": [], "evaluation_accuracy": [], "training_cost": [],
                                "training_accuracy": []}
    bar = ProgressBar(sys.stderr, show_bar, args.epochs)
    epoch_started = [time.perf_counter()]
    flag = _InterruptFlag()

    def end_of_epoch(epoch: int) -> None:
        """The monitors of one epoch, computed in the progress callback so they print as it ends."""
        record: dict[str, Any] = {"event": "epoch", "epoch": epoch + 1}
        parts = []
        if val_arrays is not None:
            cost = net.total_cost(val_arrays, args.lmbda, regularization=regularization, l1_ratio=args.l1_ratio, n=n)
            correct = net.accuracy(val_arrays)
            history["evaluation_cost"].append(cost)
            history["evaluation_accuracy"].append(correct)
            record.update(validation_cost=cost, validation_correct=correct,
                          validation_accuracy=correct / len(val_arrays))
            parts.append(f"validation accuracy {_percent(correct, len(val_arrays))}, cost {cost:.4f}")
        if monitor_training:
            cost = net.total_cost(train_arrays, args.lmbda, regularization=regularization, l1_ratio=args.l1_ratio, n=n)
            correct = net.accuracy(train_arrays)
            history["training_cost"].append(cost)
            history["training_accuracy"].append(correct)
            record.update(training_cost=cost, training_correct=correct, training_accuracy=correct / n)
            parts.append(f"training accuracy {_percent(correct, n)}, cost {cost:.4f}")
        seconds = time.perf_counter() - epoch_started[0]
        record["seconds"] = seconds
        bar.clear()
        say(f"Epoch {epoch + 1}/{args.epochs}: " + "; ".join(parts + [f"{seconds:.1f} s"]))
        if args.json:
            _emit_json(record)
        epoch_started[0] = time.perf_counter()
        bar.restart()

    def progress(epoch: int, done: int, total: int) -> None:
        if done == total:
            end_of_epoch(epoch)
        else:
            bar.update(epoch, done, total)
        if flag.requested:
            raise _StopRequested(epoch, done, total)

    interrupted: _StopRequested | None = None
    result = None
    with flag:
        try:
            bar.restart()
            epoch_started[0] = time.perf_counter()
            result = net.SGD(train_arrays, args.epochs, args.mini_batch_size, args.eta, lmbda=args.lmbda,
                             evaluation_data=val_arrays if (args.early_stopping or args.halve_eta_after) else None,
                             regularization=regularization, l1_method=args.l1_method, l1_ratio=args.l1_ratio,
                             dropout=args.dropout, momentum=args.momentum, early_stopping_n=args.early_stopping,
                             halve_eta_after=args.halve_eta_after, verbose=False, progress=progress)
        except _StopRequested as stop:
            interrupted = stop
        finally:
            bar.clear()

    if interrupted is not None:
        where = ("at the end of epoch" if interrupted.done == interrupted.total else "in epoch")
        message = (f"Interrupted {where} {interrupted.epoch + 1} of {args.epochs}, after {interrupted.done} of "
                   f"{interrupted.total} mini-batches; the weights are those after mini-batch {interrupted.done}.")
        print(message, file=sys.stderr, flush=True)
        if args.json:
            _emit_json({"event": "interrupted", "epoch": interrupted.epoch + 1,
                        "mini_batches_done": interrupted.done, "mini_batches_in_epoch": interrupted.total})
    elif result is not None and result.stopped_early:
        say(f"Stopped early after {len(result.eta)} epochs (no better validation accuracy).")

    if interrupted is None:
        correct = net.accuracy(test_arrays)
        zeros = net.sparsity()[0]
        say(f"Test accuracy: {_percent(correct, len(test_arrays))}")
        say(f"First-layer weights exactly zero: {100 * zeros.zero_fraction:.1f}%; "
            f"|w| < 1e-3: {100 * zeros.small_fraction:.1f}%")
        if args.json:
            _emit_json({"event": "end", "test_correct": correct, "test_accuracy": correct / len(test_arrays),
                        "first_layer_zero_fraction": zeros.zero_fraction,
                        "first_layer_small_fraction": zeros.small_fraction})
    if args.save:
        net.save(args.save)
        what = "the network trained so far" if interrupted is not None else "the network"
        if interrupted is not None:
            print(f"Saved {what} to {args.save}", file=sys.stderr, flush=True)
        else:
            say(f"Saved {what} to {args.save}")
    if args.plot and any(history.values()):
        from . import plots
        from .base import History
        plots.learning_curves({reg_text: History(history["evaluation_cost"], history["evaluation_accuracy"],
                                              history["training_cost"], history["training_accuracy"], [], [], False)},
                              args.plot, n_training=n, n_evaluation=len(val_arrays) if val_arrays is not None else None,
                              evaluation_name="validation")
        say(f"Wrote the learning curves to {args.plot}")
    return EXIT_INTERRUPTED if interrupted is not None else 0


# ---------------------------------------------------------------------------------------------
# nndl reproduce, nndl bench

def reproduce_command(args: argparse.Namespace) -> int:
    """``nndl reproduce``: returns the exit status."""
    from . import plots, reproduce
    plots.require_matplotlib()
    report = reproduce.run(args.out, quick=args.quick, epochs=args.epochs, seed=args.seed,
                           log=None if args.quiet else (lambda text: print(text, flush=True)))
    if not args.quiet:
        print(f"Wrote {report}")
    return 0


def bench_command(argv: Sequence[str]) -> int:
    """``nndl bench``: hands the rest of the command line to ``nndl.bench.main``."""
    from . import bench  # imported here: it is the only command that needs it
    status = bench.main(list(argv))
    return int(status or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``nndl`` entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from .base import DivergenceError
    from .plots import PlotDependencyError
    try:
        if argv and argv[0] == "bench":
            return bench_command(argv[1:])
        args = build_parser().parse_args(argv)
        return int(args.func(args))
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
