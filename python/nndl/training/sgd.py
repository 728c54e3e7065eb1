"""The SGD loop both engines share: argument checks, one permutation per epoch from the network's
generator, the monitors, early stopping and eta halving. Each engine supplies how one epoch is
trained and how data is evaluated (``_train_epoch`` and ``_evaluate``), so both run the same loop
on the same random draws."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..checks import check_choice, check_int, check_real
from ..data.arrays import to_arrays
from ..regularization import UpdateOptions
from ..wording import count
from . import diagnosis
from .errors import DivergenceError, NonFiniteInput
from .history import History
from .progress_bar import TqdmProgress
from .warnings import TrainingWarning

if TYPE_CHECKING:
    from ..network_base import NetworkBase

#: progress(epoch, mini_batches_done, mini_batches_in_epoch), called between chunks of mini-batches
ProgressCallback = Callable[[int, int, int], None]


@dataclass
class TrainingRun:
    """The checked options of one SGD call, handed to the engine for each epoch."""

    update: UpdateOptions
    mini_batch_size: int
    dropout: float
    ema_tau: float | None
    progress: ProgressCallback | None
    dropout_masks: str = "per_example"  # or "per_mini_batch": one set of dropped units per mini-batch
    sparse_inputs: bool = False  # the engine's first layer reads only the nonzero inputs
    # Whether the engine may keep what it reads of the training inputs for the call's later epochs
    # (a call of one epoch has none), and where: the C++ engine keeps the nonzeros its sparse first
    # layer gathered, so that later epochs need not read and gather the rows again.
    keep_inputs: bool = False
    engine_cache: dict[str, Any] = field(default_factory=dict)


def run_sgd(
    net: NetworkBase,
    training_data: Any,
    epochs: int,
    mini_batch_size: int,
    eta: float,
    lmbda: float = 0.0,
    evaluation_data: Any = None,
    monitor_evaluation_cost: bool = False,
    monitor_evaluation_accuracy: bool = False,
    monitor_training_cost: bool = False,
    monitor_training_accuracy: bool = False,
    regularization: str | None = "l2",
    l1_method: str = "subgradient",
    l1_ratio: float = 0.5,
    dropout: float = 0.0,
    momentum: float = 0.0,
    monitor_update_ema: float | None = None,
    early_stopping_n: int = 0,
    halve_eta_after: int = 0,
    verbose: bool = True,
    progress: ProgressCallback | bool | None = None,
    dropout_masks: str = "per_example",
    sparse_inputs: bool | None = None,
) -> History:
    """The body of ``NetworkBase.SGD`` (which documents the arguments), run for ``net``."""
    net._check_overrides()
    epochs = check_int("epochs", epochs, low=0)
    update = UpdateOptions.checked(eta, lmbda, 1, regularization, l1_method, l1_ratio, momentum)
    dropout = check_real("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
    dropout_masks = check_choice("dropout_masks", dropout_masks, ("per_example", "per_mini_batch"))
    ema_tau = (
        None
        if monitor_update_ema is None
        else check_real("monitor_update_ema", monitor_update_ema, low=0.0, low_inclusive=False, high=1.0)
    )
    if sparse_inputs is not None and not isinstance(sparse_inputs, bool):
        raise TypeError(f"sparse_inputs: expected True, False or None (choose from the data), got {sparse_inputs!r}")
    early_stopping_n = check_int("early_stopping_n", early_stopping_n, low=0)
    halve_eta_after = check_int("halve_eta_after", halve_eta_after, low=0)
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise TypeError(f"progress: expected True, False or a function progress(epoch, done, total), got {progress!r}")
    # Every epoch reads every example, so an engine that checks inputs as it reads them finds a
    # bad one in the first epoch, before any monitor or early-stopping logic looks at the data.
    inputs_checked_in_training = net.checks_inputs_while_training and epochs > 0
    train = to_arrays(
        training_data,
        net.sizes[0],
        net.sizes[-1],
        net.dtype,
        "training_data",
        check_finite_inputs=not inputs_checked_in_training,
    )
    n = len(train)
    mini_batch_size = check_int("mini_batch_size", mini_batch_size, low=1, high=n)
    evaluation = None
    if evaluation_data is not None:
        evaluation = to_arrays(evaluation_data, net.sizes[0], net.sizes[-1], net.dtype, "evaluation_data")
    if (early_stopping_n or halve_eta_after) and evaluation is None:
        raise ValueError(
            "evaluation_data: early_stopping_n and halve_eta_after watch the evaluation accuracy; give evaluation_data"
        )
    update = UpdateOptions(
        update.eta, update.lmbda, n, update.regularization, update.l1_method, update.l1_ratio, update.momentum
    )
    net._check_update_options(update, dropout)
    diagnosis.check_input_scale(net.activations, train.X, "training_data")
    if dropout and net.num_layers == 2:
        warnings.warn(
            f"dropout: a network without hidden layers has no unit to drop ({dropout:g} has no effect)",
            TrainingWarning,
            stacklevel=4,
        )
    bar = TqdmProgress(epochs) if progress is True else None
    try:
        history = _train(
            net,
            train,
            evaluation,
            epochs,
            TrainingRun(
                update,
                mini_batch_size,
                dropout,
                ema_tau,
                None,
                dropout_masks,
                net._first_layer_reads_sparse(train.X, sparse_inputs, mini_batch_size, epochs),
                keep_inputs=epochs > 1,
            ),
            verbose,
            monitor_evaluation_cost,
            monitor_evaluation_accuracy,
            monitor_training_cost,
            monitor_training_accuracy,
            early_stopping_n,
            halve_eta_after,
            bar if bar is not None else (None if isinstance(progress, bool) else progress),
            inputs_checked_in_training,
        )
    finally:
        if bar is not None:
            bar.close()
    if epochs:
        sample = evaluation if evaluation is not None else train
        diagnosis.check_units(
            net._layer_outputs(diagnosis.sample_rows(sample.X)),
            net.activations,
            "evaluation_data" if evaluation is not None else "training_data",
            history.eta[-1],
        )
    return history


def _train(
    net: NetworkBase,
    train: Any,
    evaluation: Any,
    epochs: int,
    run: TrainingRun,
    verbose: bool,
    monitor_evaluation_cost: bool,
    monitor_evaluation_accuracy: bool,
    monitor_training_cost: bool,
    monitor_training_accuracy: bool,
    early_stopping_n: int,
    halve_eta_after: int,
    progress: ProgressCallback | None,
    inputs_checked_in_training: bool,
) -> History:
    """The epochs of ``run_sgd``, its arguments checked."""
    update, n, ema_tau = run.update, len(train), run.ema_tau
    run.progress = progress
    saved = net._state_before_training() if inputs_checked_in_training else None
    net._reset_training_state()
    warned: set[str] = set()

    evaluation_cost: list[float] = []
    evaluation_accuracy: list[int] = []
    training_cost: list[float] = []
    training_accuracy: list[int] = []
    update_ema: list[float] = []
    update_ema_weights: list[list[Any]] = []
    etas: list[float] = []
    best_accuracy, epochs_since_best = -1, 0
    eta0 = update.eta
    stopped_early = False
    for epoch in range(epochs):
        order = net._rng.permutation(n)
        etas.append(run.update.eta)
        try:
            ema = net._train_epoch(train, order, run, epoch)
        except DivergenceError as error:
            raise DivergenceError(f"training diverged in epoch {epoch}: {error}") from None
        except NonFiniteInput as bad:
            net._restore_state_before_training(saved)  # as if refused before training, like the other engine
            raise ValueError(
                f"training_data: inputs contain NaN or infinity (example {bad.example}); the network is unchanged"
            ) from None
        if ema_tau is not None and ema is not None:
            update_ema.append(float(ema))
            update_ema_weights.append(net._update_ema_weights_copy())
        if verbose:
            print(f"Epoch {epoch} training complete")
        if monitor_training_cost:
            training_cost.append(net._total_cost(train, run.update))
            diagnosis.check_cost(training_cost[-1], "training data", epoch, run.update.eta, warned)
            if verbose:
                print(f"Cost on training data: {training_cost[-1]}")
        if monitor_training_accuracy:
            training_accuracy.append(net._evaluate(train)[1])
            if verbose:
                print(f"Accuracy on training data: {training_accuracy[-1]} / {n}")
        eval_correct = None
        if evaluation is not None and (
            monitor_evaluation_cost or monitor_evaluation_accuracy or early_stopping_n or halve_eta_after
        ):
            cost_sum, eval_correct = net._evaluate(evaluation)
            if monitor_evaluation_cost:
                evaluation_cost.append(cost_sum / len(evaluation) + net._penalty(run.update))
                diagnosis.check_cost(evaluation_cost[-1], "evaluation data", epoch, run.update.eta, warned)
                if verbose:
                    print(f"Cost on evaluation data: {evaluation_cost[-1]}")
            if monitor_evaluation_accuracy:
                evaluation_accuracy.append(eval_correct)
                if verbose:
                    print(f"Accuracy on evaluation data: {eval_correct} / {len(evaluation)}")
        if verbose and ema_tau is not None:
            print(f"Update EMA: {update_ema[-1]:.3e}")
        if eval_correct is not None and (early_stopping_n or halve_eta_after):
            if eval_correct > best_accuracy:
                best_accuracy, epochs_since_best = eval_correct, 0
            else:
                epochs_since_best += 1
            if early_stopping_n and epochs_since_best >= early_stopping_n:
                stopped_early = True
                if verbose:
                    print(f"Early stopping: no improvement in {count(early_stopping_n, 'epoch')}")
                break
            if halve_eta_after and epochs_since_best >= halve_eta_after:
                new_eta = run.update.eta / 2
                epochs_since_best = 0
                if new_eta < eta0 / 128 * (1 - 1e-12):
                    stopped_early = True
                    if verbose:
                        print("Stopping: eta has fallen to 1/128 of its start")
                    break
                run.update = UpdateOptions(
                    new_eta, update.lmbda, n, update.regularization, update.l1_method, update.l1_ratio, update.momentum
                )
                if verbose:
                    print(f"Halving eta to {new_eta}")
    return History(
        evaluation_cost,
        evaluation_accuracy,
        training_cost,
        training_accuracy,
        update_ema,
        etas,
        stopped_early,
        update_ema_weights,
    )
