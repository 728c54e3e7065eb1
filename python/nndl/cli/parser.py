"""The ``nndl`` command line's arguments: every option of ``SGD`` as a flag, checked as it is parsed."""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable

from ..book import CHAPTER_MODULES
from .status import UsageError

# The default lmbda for L1. With eta 0.5 and n = 50,000 the L1 step shrinks every weight by
# eta*lmbda/n = 5e-5 per mini-batch: strong enough to drive unused pixel weights to zero within a
# few epochs, weak enough that accuracy stays where L2 with the book's lmbda 5.0 has it (see
# `nndl reproduce`, which compares lmbda 1 and 5 for each L1 method).
DEFAULT_LMBDA = 5.0

COST_NAMES = {"cross-entropy": "CrossEntropyCost", "quadratic": "QuadraticCost", "log-likelihood": "LogLikelihoodCost"}


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage block and exits; one line naming the problem is easier to
    # read, and raising lets main() choose the exit status.
    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _int_list(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected layer sizes such as 784,30,10, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected at least two positive layer sizes such as 784,30,10, got {text!r}")
    return sizes


def _integer_list(low: int, what: str, example: str) -> Callable[[str], list[int]]:
    """An argparse type for comma-separated integers of at least ``low``, e.g. seeds or row numbers."""

    def convert(text: str) -> list[int]:
        try:
            values = [int(part) for part in text.replace(" ", "").split(",") if part]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} such as {example}, got {text!r}") from None
        if not values or min(values) < low:
            raise argparse.ArgumentTypeError(f"expected {what} of at least {low}, such as {example}, got {text!r}")
        return values

    return convert


_seed_list = _integer_list(0, "seeds", "1,2,3")
_row_list = _integer_list(1, "row numbers", "3,4")


def _bounded(
    kind: type, low: float | None = None, high: float | None = None, high_open: bool = False, low_open: bool = False
) -> Callable[[str], Any]:
    """An argparse type converting to ``kind`` and checking bounds, with a one-line message."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
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
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"nndl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{train,reproduce,bench}", parser_class=_Parser)
    commands.required = True

    train = commands.add_parser(
        "train",
        help="train a network (defaults: the book's 784-30-10 network on MNIST, L1)",
        description="Train a network with mini-batch SGD as the book's network2.py does. Defaults run the "
        f"book's network: 784-30-10, 30 epochs, mini-batch 10, eta 0.5, cross-entropy, L1 with "
        f"lmbda {DEFAULT_LMBDA}.",
    )
    net = train.add_argument_group("network")
    net.add_argument(
        "--sizes",
        type=_int_list,
        default=None,
        help="layer sizes, e.g. 784,30,10 (default: inputs of the data, 30, its classes)",
    )
    net.add_argument(
        "--activation",
        default="sigmoid",
        choices=["sigmoid", "tanh", "relu"],
        help="activation of the hidden layers (default: sigmoid)",
    )
    net.add_argument(
        "--output",
        default=None,
        choices=["sigmoid", "tanh", "relu", "softmax"],
        help="activation of the output layer (default: the hidden one; softmax with log-likelihood)",
    )
    net.add_argument("--cost", default="cross-entropy", choices=sorted(COST_NAMES), help="(default: cross-entropy)")
    net.add_argument("--dtype", default="float64", choices=["float64", "float32"], help="(default: float64)")
    net.add_argument(
        "--seed",
        type=_bounded(int, 0),
        default=None,
        help="seed of the initial weights, mini-batch order and dropout (default: random)",
    )
    net.add_argument(
        "--engine",
        default="cpp",
        choices=["cpp", "python"],
        help="cpp (fast) or python (the book's per-example code; slow) (default: cpp)",
    )
    net.add_argument("--threads", type=_bounded(int, 1), default=None, help="threads of the C++ engine")
    net.add_argument("--load", metavar="FILE", help="start from a network saved as the book's JSON")

    sgd = train.add_argument_group("training")
    sgd.add_argument("--epochs", "-e", type=_bounded(int, 0), default=30, help="(default: 30)")
    sgd.add_argument("--mini-batch-size", "-m", type=_bounded(int, 1), default=10, help="(default: 10)")
    sgd.add_argument("--eta", type=_bounded(float, 0, low_open=True), default=0.5, help="learning rate (default: 0.5)")
    sgd.add_argument(
        "--lmbda",
        type=_bounded(float, 0),
        default=DEFAULT_LMBDA,
        help=f"regularization strength, scaled by 1/n (default: {DEFAULT_LMBDA})",
    )
    sgd.add_argument(
        "--regularization", default="l1", choices=["none", "l2", "l1", "elastic-net"], help="(default: l1)"
    )
    sgd.add_argument(
        "--l1-method",
        default="subgradient",
        choices=["subgradient", "proximal", "cumulative"],
        help="how the L1 step is taken: the book's sgn(w) step, soft-thresholding, or cumulative "
        "clipping (default: subgradient)",
    )
    sgd.add_argument(
        "--l1-ratio", type=_bounded(float, 0, 1), default=0.5, help="elastic net: the L1 share of lmbda (default: 0.5)"
    )
    sgd.add_argument(
        "--dropout",
        type=_bounded(float, 0, 1, high_open=True),
        default=0.0,
        help="probability of dropping a hidden unit (default: 0)",
    )
    sgd.add_argument(
        "--dropout-masks",
        default="per-example",
        choices=["per-example", "per-mini-batch"],
        help="a dropout mask for each example, or one set of dropped units per mini-batch as in the "
        "book's chapter 3 (default: per-example)",
    )
    sgd.add_argument("--momentum", type=_bounded(float, 0, 1, high_open=True), default=0.0, help="(default: 0)")
    sgd.add_argument(
        "--sparse-inputs",
        default="auto",
        choices=["auto", "on", "off"],
        help="the first layer reads only the nonzero inputs (the same results, faster on mostly-zero "
        "inputs such as MNIST's); auto chooses from the data (default: auto)",
    )
    sgd.add_argument(
        "--early-stopping",
        type=_bounded(int, 0),
        default=0,
        metavar="N",
        help="stop after N epochs without a better validation accuracy (default: off)",
    )
    sgd.add_argument(
        "--halve-eta-after",
        type=_bounded(int, 0),
        default=0,
        metavar="N",
        help="halve eta after N epochs without improvement (default: off)",
    )

    sgd.add_argument(
        "--update-ema",
        type=_bounded(float, 0, 1, low_open=True),
        default=None,
        metavar="TAU",
        help="track the moving averages of the update with weight TAU per mini-batch (e.g. 0.01): of the mean "
        "|dW| and of each weight's own dW; prints them per epoch (default: off)",
    )

    data = train.add_argument_group("data")
    data.add_argument(
        "--data",
        default="mnist",
        help="mnist (bundled), fashion-mnist (downloaded once), or a directory with the four IDX "
        "files under MNIST's names (default: mnist)",
    )
    for split in ("train-images", "train-labels", "test-images", "test-labels"):
        data.add_argument(
            f"--{split}", metavar="PATH", help=f"the {split.replace('-', ' ')} IDX file (all four together)"
        )
    data.add_argument(
        "--validation-size",
        type=_bounded(int, 1),
        default=10000,
        help="training images held out for validation, from the end (default: 10000)",
    )
    data.add_argument(
        "--limit",
        type=_bounded(int, 1),
        default=None,
        metavar="N",
        help="use at most N images of each split (quick runs)",
    )

    out = train.add_argument_group("output")
    out.add_argument("--save", metavar="FILE", help="save the trained network as the book's JSON (also on Ctrl-C)")
    out.add_argument("--plot", metavar="FILE", help="write the learning curves to a PNG (needs nndl[plot])")
    out.add_argument(
        "--plot-update-ema",
        metavar="FILE",
        help="write the update EMA per epoch to a PNG (with --update-ema; needs nndl[plot])",
    )
    out.add_argument(
        "--monitor-training",
        action="store_true",
        help="also report cost and accuracy on the training data each epoch (on with --plot)",
    )
    out.add_argument("--json", action="store_true", help="print one JSON object per line (start, epoch, end)")
    out.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors (and --json)")
    bar = out.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show the progress bar even when stderr is not a terminal",
    )
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show the progress bar")
    train.set_defaults(command="train")

    repro = commands.add_parser(
        "reproduce",
        help="reproduce the book's figures (--chapter 1|3|5|6) or the chapter-3 regularizer comparison",
        description="With --chapter N: every figure the book quotes in chapter N, each run for several seeds, "
        "written to DIR/chapterN.md with figures, rows merged into DIR/results.json. Without --chapter: the "
        "chapter-3 regularizer comparison (784-30-10, no regularization, L2, each L1 method, elastic net; one "
        "seed), written to DIR/report.md.",
    )
    repro.add_argument(
        "--chapter",
        type=int,
        choices=sorted(CHAPTER_MODULES),
        default=None,
        help="the book's chapter whose figures to run",
    )
    repro.add_argument("--quick", action="store_true", help="a small version (a subset, few epochs, 2 seeds)")
    repro.add_argument(
        "--out", default="nndl-reproduce", metavar="DIR", help="where to write (default: nndl-reproduce)"
    )
    repro.add_argument(
        "--seeds",
        type=_seed_list,
        default=None,
        help="with --chapter: seeds, e.g. 1,2,3,4,5 (default: 1-5; quick: 1,2)",
    )
    repro.add_argument(
        "--jobs",
        type=_bounded(int, 1),
        default=1,
        help="with --chapter: runs trained at once (the seeds of an experiment; chapter 6: of any rows), one thread "
        "each (default: 1)",
    )
    repro.add_argument(
        "--cache",
        default=None,
        metavar="DIR",
        help="with --chapter: keep each finished run in DIR and reuse it (resume an interrupted run, rewrite a report)",
    )
    repro.add_argument(
        "--rows",
        type=_row_list,
        default=None,
        metavar="N,N",
        help="with --chapter 6: train these rows of the report in full (e.g. 3,4; 8 is the vote), --quick or not; "
        "the other rows "
        "reuse the full runs the report's directory (its chapter6_runs.json) or --cache holds, else run quick",
    )
    repro.add_argument(
        "--epochs", type=_bounded(int, 1), default=None, help="without --chapter: override the number of epochs"
    )
    repro.add_argument("--seed", type=_bounded(int, 0), default=1, help="without --chapter: the seed (default: 1)")
    repro.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    repro.set_defaults(command="reproduce")

    commands.add_parser("bench", help="measure the engines' speed (nndl bench --help)", add_help=False)
    return parser
