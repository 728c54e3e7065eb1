"""What a network of the book is made of, checked: layer sizes, one activation per layer, a cost
that fits the output layer, a dtype. Shared by construction and by loading a saved file."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .checks import check_choice, check_int
from .costs import COSTS, Cost, cost_by_name

#: Parameters a network may have: far beyond any network of the book, and small enough that no
#: size product overflows 64-bit integers in the C++ core.
MAX_PARAMETERS = 2**34


def check_sizes(sizes: object) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (Sequence, np.ndarray)):
        raise TypeError(f"sizes: expected a list of layer sizes such as [784, 30, 10], got {sizes!r}")
    sizes = [check_int(f"sizes[{i}]", s, low=1) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes: a network needs at least an input and an output layer, got {sizes}")
    num_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))  # Python ints: no overflow
    if num_params > MAX_PARAMETERS:
        raise ValueError(f"sizes: {sizes} make {num_params} parameters, more than nndl supports ({MAX_PARAMETERS})")
    return sizes


def check_cost(cost: object) -> type[Cost]:
    if isinstance(cost, str):
        return cost_by_name(cost)
    for known in COSTS.values():
        if cost is known or type(cost) is known:  # the class, as the book passes it, or an instance
            return known
    raise TypeError(f"cost: expected QuadraticCost, CrossEntropyCost or LogLikelihoodCost, got {cost!r}")


def check_activations(activation: object, output: object, num_layers: int) -> list[str]:
    """One activation name per layer after the input."""
    if isinstance(activation, str):
        names = [activation] * (num_layers - 1)
    elif isinstance(activation, Sequence):
        names = list(activation)
        if len(names) != num_layers - 1:
            raise ValueError(
                f"activation: expected {num_layers - 1} names (one per layer after the input), got {len(names)}"
            )
    else:
        raise TypeError(f"activation: expected a name or a list of names, got {activation!r}")
    for i, name in enumerate(names):
        check_choice(
            f"activation[{i}]" if not isinstance(activation, str) else "activation",
            name,
            ("sigmoid", "tanh", "relu", "softmax"),
        )
    if output is not None:
        names[-1] = check_choice("output", output, ("sigmoid", "tanh", "relu", "softmax"))
    if "softmax" in names[:-1]:
        raise ValueError("activation: softmax is only allowed on the output layer")
    return names


def check_dtype(dtype: object) -> np.dtype:
    try:
        dt: np.dtype = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype: expected float32 or float64, got {dt}")
    return dt


def check_cost_and_output(cost: type[Cost], output: str) -> None:
    """The pairings whose output-layer error the engines know (the book's, plus quadratic)."""
    if cost.name == "log_likelihood" and output != "softmax":
        raise ValueError("cost: LogLikelihoodCost needs a softmax output layer (output='softmax')")
    if cost.name != "log_likelihood" and output == "softmax":
        raise ValueError(f"output: a softmax output goes with LogLikelihoodCost, not {cost.__name__}")
    if cost.name == "cross_entropy" and output != "sigmoid":
        raise ValueError(f"cost: CrossEntropyCost needs a sigmoid output layer, got {output!r}")
