"""The layers of the book's network3 (chapter 6): ``ConvPoolLayer``, ``FullyConnectedLayer``,
``SoftmaxLayer``, and the activations ``linear``, ``ReLU``, ``sigmoid``, ``tanh``.

A layer describes its shape and draws its initial parameters; once it is part of a
``nndl.network3.Network`` its ``w`` and ``b`` are numpy views into the network's one parameter
buffer, shaped as the book's: ``w`` of a ConvPoolLayer is ``filter_shape``, of a dense layer
``(n_in, n_out)``; ``b`` is ``(filter_shape[0],)`` or ``(n_out,)``. Assigning ``layer.w = array``
copies into the buffer. (The C++ core stores dense weights ``(n_out, n_in)``; the book-shaped
``w`` is the transposed view.)

Where nndl differs from network3, and why:

- Convolution is cross-correlation (filters not flipped), as in PyTorch; Theano's ``conv2d``,
  which network3 calls, flips them. It changes nothing when training from scratch; to use
  weights trained by network3, flip them: ``w[:, :, ::-1, ::-1]``.
- Dropout is inverted: a kept input is scaled by 1/(1-p) during training and nothing is scaled
  when evaluating, where network3 trains unscaled and multiplies ``x W`` by (1-p) when
  evaluating. The expected pre-activation is the same; nndl's learned ``w`` is network3's
  divided by (1-p).
- FullyConnectedLayer's weights are drawn from N(0, 1/n_in) as the book's text says;
  network3.py's code draws them from N(0, 1/n_out) (a slip); ``weight_init="n_out"`` gives the code's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Callable, cast

import numpy as np

from . import _core

Activation = Callable[[np.ndarray], np.ndarray]


def linear(z: np.ndarray) -> np.ndarray:
    return z


def ReLU(z: np.ndarray) -> np.ndarray:
    a: np.ndarray = np.maximum(0.0, z)
    return a


def sigmoid(z: np.ndarray) -> np.ndarray:
    a: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return a


def tanh(z: np.ndarray) -> np.ndarray:
    a: np.ndarray = np.tanh(z)
    return a


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (m, n) pre-activations, shifted by each row's maximum."""
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    a: np.ndarray = e / np.sum(e, axis=1, keepdims=True)
    return a


#: The activations a layer accepts, by the name the C++ core and saved files use.
ACTIVATIONS: dict[str, Activation] = {"linear": linear, "relu": ReLU, "sigmoid": sigmoid, "tanh": tanh}


def activation_name(fn: object) -> str:
    """The name of one of the four activations (given as the function or its name)."""
    if isinstance(fn, str):
        key = fn.lower()
        if key in ACTIVATIONS:
            return key
    for name, known in ACTIVATIONS.items():
        if fn is known:
            return name
    raise ValueError(f"activation_fn: expected one of nndl.network3's linear, ReLU, sigmoid, tanh, got {fn!r}")


def _positive_ints(name: str, value: object, length: int) -> tuple[int, ...]:
    try:
        items = tuple(cast(Iterable[Any], value))  # a TypeError here if it is not iterable
    except TypeError:
        raise TypeError(f"{name}: expected a tuple of {length} integers, got {value!r}") from None
    if len(items) != length or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise TypeError(f"{name}: expected a tuple of {length} integers, got {value!r}")
    if any(v < 1 for v in items):
        raise ValueError(f"{name}: every entry must be at least 1, got {value!r}")
    return tuple(int(v) for v in items)


def _dropout(p: object) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)):
        raise TypeError(f"p_dropout: expected a number in [0, 1), got {p!r}")
    if not 0.0 <= float(p) < 1.0:
        raise ValueError(f"p_dropout: expected a number in [0, 1), got {p!r}")
    return float(p)


class Layer:
    """What the three layer types share: their parameters' views, once in a network."""

    kind = ""
    activation = ""
    p_dropout = 0.0
    _w: np.ndarray | None = None  # the weights as the C++ core stores them (a view into the buffer)
    _b: np.ndarray | None = None

    @property
    def n_inputs(self) -> int:
        """Numbers per example this layer reads."""
        raise NotImplementedError

    @property
    def n_outputs(self) -> int:
        """Numbers per example this layer gives."""
        raise NotImplementedError

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """The shape of ``w`` (the book's)."""
        raise NotImplementedError

    def _book_view(self, stored: np.ndarray) -> np.ndarray:
        """``w`` as the book shapes it, from the stored weights."""
        raise NotImplementedError

    def initial_parameters(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(w, b)`` drawn as the book draws them (float64, book shapes)."""
        raise NotImplementedError

    def spec(self) -> Any:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The constructor's arguments, as saved files store them."""
        raise NotImplementedError

    def _bind(self, w_stored: np.ndarray, b: np.ndarray) -> None:
        self._w, self._b = w_stored, b

    @property
    def w(self) -> np.ndarray:
        if self._w is None:
            raise AttributeError("w: this layer is not part of a network yet (nndl.network3.Network(layers, ...))")
        return self._book_view(self._w)

    @w.setter
    def w(self, value: np.ndarray) -> None:
        view = self.w
        value = np.asarray(value)
        if value.shape != view.shape:
            raise ValueError(f"w: expected shape {view.shape}, got {value.shape}")
        view[...] = value

    @property
    def b(self) -> np.ndarray:
        if self._b is None:
            raise AttributeError("b: this layer is not part of a network yet (nndl.network3.Network(layers, ...))")
        return self._b

    @b.setter
    def b(self, value: np.ndarray) -> None:
        view = self.b
        value = np.asarray(value)
        if value.shape != view.shape:
            raise ValueError(f"b: expected shape {view.shape}, got {value.shape}")
        view[...] = value

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"{type(self).__name__}({args})"


class ConvPoolLayer(Layer):
    """A valid convolution with ``filter_shape = (filters, input maps, height, width)`` over images
    ``image_shape = (mini-batch size, input maps, height, width)``, then max-pooling over
    ``poolsize`` windows (rows and columns past the last whole window dropped), then a bias per
    filter and the activation, in the book's order. Pooling ties send the whole error to the first
    maximum in the window's row-major order. No dropout, as in network3."""

    kind = "conv_pool"

    def __init__(
        self,
        filter_shape: Sequence[int],
        image_shape: Sequence[int],
        poolsize: Sequence[int] = (2, 2),
        activation_fn: Activation | str = sigmoid,
    ):
        self.filter_shape = _positive_ints("filter_shape", filter_shape, 4)
        self.image_shape = _positive_ints("image_shape", image_shape, 4)
        self.poolsize = _positive_ints("poolsize", poolsize, 2)
        self.activation = activation_name(activation_fn)
        self.activation_fn = ACTIVATIONS[self.activation]
        _, maps, fh, fw = self.filter_shape
        _, image_maps, height, width = self.image_shape
        if maps != image_maps:
            raise ValueError(
                f"filter_shape: the filters read {maps} input feature maps but image_shape {self.image_shape} has "
                f"{image_maps}"
            )
        if fh > height or fw > width:
            raise ValueError(
                f"image_shape: a {fh}x{fw} filter (filter_shape) does not fit a {height}x{width} image "
                f"({self.image_shape})"
            )
        if self.poolsize[0] > height - fh + 1 or self.poolsize[1] > width - fw + 1:
            raise ValueError(
                f"poolsize: a {self.poolsize} window does not fit the {height - fh + 1}x{width - fw + 1} "
                "convolution output"
            )

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """(filters, rows, columns) of the pooled output of one example."""
        filters, _, fh, fw = self.filter_shape
        _, _, height, width = self.image_shape
        return filters, (height - fh + 1) // self.poolsize[0], (width - fw + 1) // self.poolsize[1]

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.image_shape[1:]))

    @property
    def n_outputs(self) -> int:
        return int(np.prod(self.output_shape))

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return self.filter_shape

    def _book_view(self, stored: np.ndarray) -> np.ndarray:
        return stored.reshape(self.filter_shape)

    def initial_parameters(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        filters, _, fh, fw = self.filter_shape
        n_out = filters * fh * fw / (self.poolsize[0] * self.poolsize[1])  # network3's fan-out
        w = rng.normal(0.0, np.sqrt(1.0 / n_out), size=self.filter_shape)
        b = rng.normal(0.0, 1.0, size=(filters,))
        return w, b

    def spec(self) -> Any:
        filters, _, fh, fw = self.filter_shape
        return _core.LayerSpec(
            "conv_pool",
            self.activation,
            image=list(self.image_shape[1:]),
            filters=[filters, fh, fw],
            pool=list(self.poolsize),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "filter_shape": list(self.filter_shape),
            "image_shape": list(self.image_shape),
            "poolsize": list(self.poolsize),
            "activation_fn": self.activation,
        }


class FullyConnectedLayer(Layer):
    """``activation(x w + b)`` with ``w`` of shape (n_in, n_out); dropout on the inputs with
    probability ``p_dropout`` (inverted: see the module's notes)."""

    kind = "fully_connected"

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation_fn: Activation | str = sigmoid,
        p_dropout: float = 0.0,
        weight_init: str = "n_in",
    ):
        self.n_in, self.n_out = _positive_ints("n_in and n_out", (n_in, n_out), 2)
        self.activation = activation_name(activation_fn)
        self.activation_fn = ACTIVATIONS[self.activation]
        self.p_dropout = _dropout(p_dropout)
        if weight_init not in ("n_in", "n_out"):
            raise ValueError(
                f"weight_init: expected 'n_in' (the book's text) or 'n_out' (its code), got {weight_init!r}"
            )
        self.weight_init = weight_init

    @property
    def n_inputs(self) -> int:
        return self.n_in

    @property
    def n_outputs(self) -> int:
        return self.n_out

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.n_in, self.n_out)

    def _book_view(self, stored: np.ndarray) -> np.ndarray:
        view: np.ndarray = stored.T
        return view

    def initial_parameters(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        fan = self.n_in if self.weight_init == "n_in" else self.n_out
        w = rng.normal(0.0, np.sqrt(1.0 / fan), size=(self.n_in, self.n_out))
        b = rng.normal(0.0, 1.0, size=(self.n_out,))
        return w, b

    def spec(self) -> Any:
        return _core.LayerSpec(
            "fully_connected", self.activation, n_in=self.n_in, n_out=self.n_out, p_dropout=self.p_dropout
        )

    def describe(self) -> dict[str, Any]:
        return {
            "n_in": self.n_in,
            "n_out": self.n_out,
            "activation_fn": self.activation,
            "p_dropout": self.p_dropout,
            "weight_init": self.weight_init,
        }


class SoftmaxLayer(Layer):
    """The output layer: ``softmax(x w + b)``, trained with the log-likelihood cost; weights and
    biases start at zero, as in network3; dropout on the inputs as FullyConnectedLayer's."""

    kind = "softmax"
    activation = "softmax"

    def __init__(self, n_in: int, n_out: int, p_dropout: float = 0.0):
        self.n_in, self.n_out = _positive_ints("n_in and n_out", (n_in, n_out), 2)
        self.p_dropout = _dropout(p_dropout)

    @property
    def n_inputs(self) -> int:
        return self.n_in

    @property
    def n_outputs(self) -> int:
        return self.n_out

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.n_in, self.n_out)

    def _book_view(self, stored: np.ndarray) -> np.ndarray:
        view: np.ndarray = stored.T
        return view

    def initial_parameters(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((self.n_in, self.n_out)), np.zeros((self.n_out,))

    def spec(self) -> Any:
        return _core.LayerSpec("softmax", "softmax", n_in=self.n_in, n_out=self.n_out, p_dropout=self.p_dropout)

    def describe(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out, "p_dropout": self.p_dropout}


LAYER_TYPES: dict[str, type[Layer]] = {
    "ConvPoolLayer": ConvPoolLayer,
    "FullyConnectedLayer": FullyConnectedLayer,
    "SoftmaxLayer": SoftmaxLayer,
}


def check_layer_list(layers: object, mini_batch_size: int) -> list[Layer]:
    """The layers as a list, each reading what the one before gives, softmax last (ValueError or
    TypeError naming the argument otherwise)."""
    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError(f"layers: expected a non-empty list of layers, got {layers!r}")
    out: list[Layer] = []
    for l, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(f"layers: item {l} is not a ConvPoolLayer, FullyConnectedLayer or SoftmaxLayer: {layer!r}")
        if isinstance(layer, SoftmaxLayer) != (l == len(layers) - 1):
            raise ValueError("layers: the last layer, and only the last, must be a SoftmaxLayer")
        if isinstance(layer, ConvPoolLayer) and layer.image_shape[0] != mini_batch_size:
            raise ValueError(
                f"image_shape: layer {l}'s image_shape {layer.image_shape} starts with a mini-batch size of "
                f"{layer.image_shape[0]}, but the network's mini_batch_size is {mini_batch_size}"
            )
        if l > 0 and layer.n_inputs != out[-1].n_outputs:
            name = "image_shape" if isinstance(layer, ConvPoolLayer) else "n_in"
            raise ValueError(
                f"{name}: layer {l} ({type(layer).__name__}) takes {layer.n_inputs} inputs but layer {l - 1} "
                f"({type(out[-1]).__name__}) gives {out[-1].n_outputs}"
            )
        if any(layer is seen for seen in out):
            raise ValueError(f"layers: item {l} appears twice; every layer needs its own object")
        out.append(layer)
    return out
