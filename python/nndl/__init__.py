"""nndl: the networks of Michael Nielsen's *Neural Networks and Deep Learning*, with L1
regularization done right, trained by a C++ core.

    import nndl
    training_data, validation_data, test_data = nndl.load_mnist()
    net = nndl.Network([784, 30, 10], cost=nndl.CrossEntropyCost, seed=1)
    net.SGD(training_data, 30, 10, 0.5, lmbda=5.0, regularization="l1",
            evaluation_data=validation_data, monitor_evaluation_accuracy=True)

``nndl.reference`` is the same API in pure Python (the book's code), kept as the readable oracle.
"""

from __future__ import annotations

try:
    from . import _core as _core
except ImportError as error:  # pragma: no cover - only without a built extension
    raise ImportError(
        "nndl's C++ extension (nndl._core) is not built. Install nndl with `pip install .` from the "
        "repository root (this builds it), and do not run Python from inside python/ of the checkout."
    ) from error

from . import data, datasets, network, reference

# Performance controls of the C++ core: SIMD kernel set (NNDL_SIMD) and threads (NNDL_NUM_THREADS).
from ._core import get_num_threads, set_num_threads, set_simd, simd_info
from .activations import ReLU, Sigmoid, Softmax, Tanh
from .costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost
from .data import book_form, load_csv, load_idx, load_mnist, vectorized_result
from .gradcheck import gradcheck
from .network2 import Network, load
from .network_base import LayerSparsity
from .training.errors import DivergenceError
from .training.history import History
from .training.warnings import TrainingWarning

__version__ = "0.1.0"

__all__ = [
    "CrossEntropyCost",
    "DivergenceError",
    "History",
    "LayerSparsity",
    "LogLikelihoodCost",
    "Network",
    "QuadraticCost",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "TrainingWarning",
    "book_form",
    "data",
    "datasets",
    "get_num_threads",
    "gradcheck",
    "load",
    "load_csv",
    "load_idx",
    "load_mnist",
    "network",
    "reference",
    "set_num_threads",
    "set_simd",
    "simd_info",
    "vectorized_result",
]
