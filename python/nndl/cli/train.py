"""``nndl train``: load the data, build or load the network, train it with progress and Ctrl-C
handling, report per epoch (text or JSON), save and plot."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from typing import Any, Callable

from ..training.diagnosis import check_cost
from ..wording import count
from .interrupt import InterruptFlag, StopRequested
from .parser import COST_NAMES
from .progress import ProgressBar
from .status import EXIT_INTERRUPTED, EXIT_TRAINING_FAILED, UsageError


def _load_data(args: argparse.Namespace) -> tuple[Any, Any, Any, str]:
    """(training, validation, test) as (X, y) arrays, and a name for the data."""
    from .. import datasets

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
            raise ValueError(
                f"--data: {args.data!r} is neither a known dataset ({', '.join(datasets.DATASETS)}) nor a directory"
            )
        try:
            training, validation, test = datasets.load(args.data, format="arrays", validation_size=args.validation_size)
        except ValueError as error:
            if str(error).startswith("validation_size"):
                raise ValueError(f"--validation-size: {str(error).split(': ', 1)[1]}") from None
            raise
        name = args.data
    if args.limit is not None:
        training, validation, test = [(X[: args.limit], y[: args.limit]) for X, y in (training, validation, test)]
    return training, validation, test, name


def _network(args: argparse.Namespace, n_in: int, n_classes: int) -> Any:
    import nndl

    from .. import reference

    Engine = nndl.Network if args.engine == "cpp" else reference.Network
    if args.load:
        net = (nndl.load if args.engine == "cpp" else reference.load)(args.load)
        if args.sizes is not None and list(args.sizes) != net.sizes:
            raise ValueError(
                f"--sizes {','.join(map(str, args.sizes))} differs from the loaded network's "
                f"{','.join(map(str, net.sizes))}; leave --sizes out to train the loaded one"
            )
    else:
        sizes = args.sizes if args.sizes is not None else [n_in, 30, n_classes]
        if sizes[0] != n_in:
            raise ValueError(
                f"--sizes: the data has {n_in} inputs per image, so the first layer must be {n_in}, got {sizes[0]}"
            )
        output = args.output
        if output is None and args.cost == "log-likelihood":
            output = "softmax"
        net = Engine(
            sizes,
            cost=COST_NAMES[args.cost],
            seed=args.seed,
            dtype=args.dtype,
            activation=args.activation,
            output=output,
        )
    if net.sizes[0] != n_in:
        raise ValueError(f"the network takes {net.sizes[0]} inputs but the data has {n_in} per image")
    if net.sizes[-1] < n_classes:
        raise ValueError(f"the network has {net.sizes[-1]} outputs but the data has {n_classes} classes")
    return net


def _emit_json(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _percent(correct: int, total: int) -> str:
    return f"{100.0 * correct / total:.2f}% ({correct}/{total})"


def train_command(args: argparse.Namespace) -> int:
    """``nndl train``: returns the exit status."""
    import nndl

    from ..data.arrays import to_arrays

    quiet = args.quiet or args.json
    say: Callable[[str], None] = (lambda text: None) if quiet else (lambda text: print(text, flush=True))
    show_bar = args.progress if args.progress is not None else (sys.stderr.isatty() and not args.quiet)

    if args.plot_update_ema and args.update_ema is None:
        raise UsageError("nndl train: --plot-update-ema needs --update-ema TAU")
    if args.plot or args.plot_update_ema:
        from .. import plots

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
    val_arrays = (
        to_arrays(validation, net.sizes[0], net.sizes[-1], net.dtype, "validation data") if len(validation[0]) else None
    )
    test_arrays = to_arrays(test, net.sizes[0], net.sizes[-1], net.dtype, "test data")
    if args.mini_batch_size > len(train_arrays):
        raise ValueError(
            f"--mini-batch-size {args.mini_batch_size} is larger than the {len(train_arrays)} training images"
        )
    if (args.early_stopping or args.halve_eta_after) and val_arrays is None:
        raise ValueError(
            "--early-stopping and --halve-eta-after watch the validation accuracy; there is no validation data"
        )

    regularization = args.regularization.replace("-", "_")
    n = len(train_arrays)
    monitor_training = args.monitor_training or bool(args.plot)
    reg_text = (
        "no regularization"
        if regularization == "none"
        else (
            f"{args.regularization.upper() if regularization != 'elastic_net' else 'elastic net'}"
            f"{f' ({args.l1_method})' if regularization in ('l1', 'elastic_net') else ''} lmbda {args.lmbda:g}"
        )
    )
    say(
        f"Training {net!r} on {n:,} images of {data_name} (validation {len(validation[0]):,}, test "
        f"{len(test_arrays):,}): {count(args.epochs, 'epoch')}, mini-batch {args.mini_batch_size}, "
        f"eta {args.eta:g}, {reg_text}"
    )
    if args.json:
        _emit_json(
            {
                "event": "start",
                "sizes": net.sizes,
                "engine": args.engine,
                "data": data_name,
                "n_training": n,
                "n_validation": len(validation[0]),
                "n_test": len(test_arrays),
                "epochs": args.epochs,
                "mini_batch_size": args.mini_batch_size,
                "eta": args.eta,
                "lmbda": args.lmbda,
                "regularization": regularization,
                "l1_method": args.l1_method,
                "seed": args.seed,
            }
        )

    history: dict[str, list[Any]] = {
        "evaluation_cost": [],
        "evaluation_accuracy": [],
        "training_cost": [],
        "training_accuracy": [],
    }
    bar = ProgressBar(sys.stderr, show_bar, args.epochs)
    warned: set[str] = set()  # check_cost warns once per run
    epoch_started = [time.perf_counter()]
    flag = InterruptFlag()

    def end_of_epoch(epoch: int) -> None:
        """The monitors of one epoch, computed in the progress callback so they print as it ends."""
        record: dict[str, Any] = {"event": "epoch", "epoch": epoch + 1}
        parts = []
        if val_arrays is not None:
            cost = net.total_cost(val_arrays, args.lmbda, regularization=regularization, l1_ratio=args.l1_ratio, n=n)
            correct = net.accuracy(val_arrays)
            history["evaluation_cost"].append(cost)
            history["evaluation_accuracy"].append(correct)
            check_cost(cost, "validation data", epoch + 1, args.eta, warned, depth=-4)
            record.update(
                validation_cost=cost, validation_correct=correct, validation_accuracy=correct / len(val_arrays)
            )
            parts.append(f"validation accuracy {_percent(correct, len(val_arrays))}, cost {cost:.4f}")
        if monitor_training:
            cost = net.total_cost(train_arrays, args.lmbda, regularization=regularization, l1_ratio=args.l1_ratio, n=n)
            correct = net.accuracy(train_arrays)
            history["training_cost"].append(cost)
            history["training_accuracy"].append(correct)
            check_cost(cost, "training data", epoch + 1, args.eta, warned, depth=-4)
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
            raise StopRequested(epoch, done, total)

    interrupted: StopRequested | None = None
    result = None
    # What went wrong without an error (a cost that became infinite, saturated outputs, dead
    # units): recorded, told in one line each at the end, and the exit status says so.
    trouble: list[str] = []
    with flag, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", nndl.TrainingWarning)
        try:
            bar.restart()
            epoch_started[0] = time.perf_counter()
            result = net.SGD(
                train_arrays,
                args.epochs,
                args.mini_batch_size,
                args.eta,
                lmbda=args.lmbda,
                evaluation_data=val_arrays,
                regularization=regularization,
                l1_method=args.l1_method,
                l1_ratio=args.l1_ratio,
                dropout=args.dropout,
                dropout_masks=args.dropout_masks.replace("-", "_"),
                sparse_inputs={"auto": None, "on": True, "off": False}[args.sparse_inputs],
                momentum=args.momentum,
                monitor_update_ema=args.update_ema,
                early_stopping_n=args.early_stopping,
                halve_eta_after=args.halve_eta_after,
                verbose=False,
                progress=progress,
            )
        except StopRequested as stop:
            interrupted = stop
        finally:
            bar.clear()
    for warning in caught:
        if issubclass(warning.category, nndl.TrainingWarning):
            trouble.append(str(warning.message))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)

    if interrupted is not None:
        where = "at the end of epoch" if interrupted.done == interrupted.total else "in epoch"
        message = (
            f"Interrupted {where} {interrupted.epoch + 1} of {args.epochs}, after {interrupted.done} of "
            f"{interrupted.total} mini-batches; the weights are those after mini-batch {interrupted.done}."
        )
        print(message, file=sys.stderr, flush=True)
        if args.json:
            _emit_json(
                {
                    "event": "interrupted",
                    "epoch": interrupted.epoch + 1,
                    "mini_batches_done": interrupted.done,
                    "mini_batches_in_epoch": interrupted.total,
                }
            )
    elif result is not None and result.stopped_early:
        say(f"Stopped early after {count(len(result.eta), 'epoch')} (no better validation accuracy).")

    if interrupted is None and result is not None and args.update_ema is not None:
        _report_update_ema(result, args, say)
    if interrupted is None:
        correct = net.accuracy(test_arrays)
        zeros = net.sparsity()[0]
        say(f"Test accuracy: {_percent(correct, len(test_arrays))}")
        say(
            f"First-layer weights exactly zero: {100 * zeros.zero_fraction:.1f}%; "
            f"|w| < 1e-3: {100 * zeros.small_fraction:.1f}%"
        )
        if args.json:
            _emit_json(
                {
                    "event": "end",
                    "test_correct": correct,
                    "test_accuracy": correct / len(test_arrays),
                    "first_layer_zero_fraction": zeros.zero_fraction,
                    "first_layer_small_fraction": zeros.small_fraction,
                }
            )
    if args.save:
        net.save(args.save)
        what = "the network trained so far" if interrupted is not None else "the network"
        if interrupted is not None:
            print(f"Saved {what} to {args.save}", file=sys.stderr, flush=True)
        else:
            say(f"Saved {what} to {args.save}")
    if args.plot and any(history.values()):
        from .. import plots
        from ..training.history import History

        plots.learning_curves(
            {
                reg_text: History(
                    history["evaluation_cost"],
                    history["evaluation_accuracy"],
                    history["training_cost"],
                    history["training_accuracy"],
                    [],
                    [],
                    False,
                )
            },
            args.plot,
            n_training=n,
            n_evaluation=len(val_arrays) if val_arrays is not None else None,
            evaluation_name="validation",
        )
        say(f"Wrote the learning curves to {args.plot}")
    if args.plot_update_ema and result is not None and result.update_ema:
        from .. import plots

        plots.update_ema(result, args.plot_update_ema, title=f"Update EMA, tau {args.update_ema:g} ({reg_text})")
        say(f"Wrote the update EMA figure to {args.plot_update_ema}")
    if interrupted is not None:
        return EXIT_INTERRUPTED
    if trouble:  # the first is the cause; later ones are mostly its consequences
        more = f" (and {count(len(trouble) - 1, 'more warning')})" if len(trouble) > 1 else ""
        print(f"nndl: training failed: {trouble[0]}{more}", file=sys.stderr, flush=True)
        return EXIT_TRAINING_FAILED
    return 0


def _report_update_ema(result: Any, args: argparse.Namespace, say: Callable[[str], None]) -> None:
    """One line per epoch: the EMA of the mean |dW| and the norm of each layer's per-weight EMA."""
    for epoch, (mean, norms) in enumerate(zip(result.update_ema, result.update_ema_norms), start=1):
        layers = ", ".join(f"layer {l} {v:.3e}" for l, v in enumerate(norms, start=1))
        say(f"Update EMA (tau {args.update_ema:g}) after epoch {epoch}: mean |dW| {mean:.3e}; ||EMA of dW|| {layers}")
        if args.json:
            _emit_json({"event": "update_ema", "epoch": epoch, "mean_abs_change": mean, "layer_norms": norms})
