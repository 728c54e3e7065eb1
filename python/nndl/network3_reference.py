"""The oracle of ``nndl.network3``: the same layers in plain numpy, written to be read.

Each layer type has a forward function and a backward function over a mini-batch, in the book's
shapes (images ``(m, maps, height, width)``, dense weights ``(n_in, n_out)``); ``Network`` chains
them, and ``update_mini_batch`` applies the regularized update exactly as nndl's C++ rule states
it (update_rule.hpp), with network3's lmbda converted as ``nndl.network3`` documents. Speed is
not a goal here; the C++ engine is tested against this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .dropout import dropout_uniform
from .network3_layers import ACTIVATIONS, ConvPoolLayer, Layer, SoftmaxLayer, softmax


# -- activations' derivatives, from the output a = f(z) -------------------------------------------
def activation_derivative(name: str, a: np.ndarray) -> np.ndarray:
    if name == "linear":
        return np.ones_like(a)
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "sigmoid":
        prime: np.ndarray = a * (1 - a)
        return prime
    if name == "tanh":
        prime = 1 - a * a
        return prime
    raise ValueError(f"activation: unknown {name!r}")


# -- convolution + max-pool ------------------------------------------------------------------------
def conv_valid(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(m, C, H, W) images, (F, C, fh, fw) filters -> (m, F, H-fh+1, W-fw+1), no flip (cross-correlation)."""
    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))  # (m, C, OH, OW, fh, fw)
    z: np.ndarray = np.einsum("mcyxuv,fcuv->mfyx", windows, w)
    return z


def max_pool(z: np.ndarray, pool: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(m, F, R, C) -> pooled (m, F, R//ph, C//pw) and, per pooled value, the index within its
    window (row-major) of the first maximum."""
    ph, pw = pool
    m, F, R, C = z.shape
    R2, C2 = R // ph, C // pw
    blocks = z[:, :, : R2 * ph, : C2 * pw].reshape(m, F, R2, ph, C2, pw).transpose(0, 1, 2, 4, 3, 5)
    flat = blocks.reshape(m, F, R2, C2, ph * pw)
    where = np.argmax(flat, axis=-1)  # np.argmax takes the first of equal maxima
    return np.take_along_axis(flat, where[..., None], axis=-1)[..., 0], where


def max_pool_backward(
    grad: np.ndarray, where: np.ndarray, z_shape: tuple[int, ...], pool: tuple[int, int]
) -> np.ndarray:
    """The error of the convolution's output: each pooled error sent to its window's maximum."""
    ph, pw = pool
    m, F = z_shape[:2]
    R2, C2 = grad.shape[2:]
    flat = np.zeros((m, F, R2, C2, ph * pw), grad.dtype)
    np.put_along_axis(flat, where[..., None], grad[..., None], axis=-1)
    out = np.zeros(z_shape, grad.dtype)
    out[:, :, : R2 * ph, : C2 * pw] = (
        flat.reshape(m, F, R2, C2, ph, pw).transpose(0, 1, 2, 4, 3, 5).reshape(m, F, R2 * ph, C2 * pw)
    )
    return out


@dataclass
class ConvPoolCache:
    x: np.ndarray
    z_shape: tuple[int, ...]
    where: np.ndarray
    a: np.ndarray


def conv_pool_forward(layer: ConvPoolLayer, w: np.ndarray, b: np.ndarray, x_flat: np.ndarray) -> ConvPoolCache:
    m = x_flat.shape[0]
    x = x_flat.reshape((m,) + layer.image_shape[1:])
    z = conv_valid(x, w)
    pooled, where = max_pool(z, (layer.poolsize[0], layer.poolsize[1]))
    a = ACTIVATIONS[layer.activation](pooled + b[None, :, None, None])
    return ConvPoolCache(x, z.shape, where, a)


def conv_pool_backward(
    layer: ConvPoolLayer, w: np.ndarray, cache: ConvPoolCache, delta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From delta = dL/d(pooled + b), (m, F, R2, C2): (dL/dw, dL/db, dL/dx as (m, C*H*W))."""
    dz = max_pool_backward(delta, cache.where, cache.z_shape, (layer.poolsize[0], layer.poolsize[1]))  # (m, F, OH, OW)
    windows = sliding_window_view(cache.x, w.shape[2:], axis=(2, 3))
    gw = np.einsum("mfyx,mcyxuv->fcuv", dz, windows)
    gb = delta.sum(axis=(0, 2, 3))
    dx = np.zeros_like(cache.x)
    OH, OW = dz.shape[2:]
    for u in range(w.shape[2]):
        for v in range(w.shape[3]):
            dx[:, :, u : u + OH, v : v + OW] += np.einsum("mfyx,fc->mcyx", dz, w[:, :, u, v])
    return gw, gb, dx.reshape(dx.shape[0], -1)


# -- dense layers (FullyConnectedLayer and SoftmaxLayer) ---------------------------------------------
def dropout_factors(p: float, key: int, step: int, layer_index: int, m: int, width: int) -> np.ndarray:
    """(m, width) factors, 0 for a dropped input and 1/(1-p) for a kept one: the C++ engine's draws."""
    units = np.arange(width)
    kept = np.stack([dropout_uniform(key, step, i, layer_index, units) >= p for i in range(m)])
    return np.where(kept, 1.0 / (1.0 - p), 0.0)


def dense_forward(
    layer: Layer, w: np.ndarray, b: np.ndarray, x: np.ndarray, factors: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    x_used = x if factors is None else x * factors.astype(x.dtype)
    z = x_used @ w + b
    a = softmax(z) if isinstance(layer, SoftmaxLayer) else ACTIVATIONS[layer.activation](z)
    return x_used, a


def dense_backward(
    w: np.ndarray, x_used: np.ndarray, delta: np.ndarray, factors: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From delta = dL/dz (m, n_out): (dL/dw, dL/db, dL/dx)."""
    dx = delta @ w.T
    if factors is not None:
        dx = dx * factors.astype(dx.dtype)
    return x_used.T @ delta, delta.sum(axis=0), dx


# -- the network -------------------------------------------------------------------------------------
@dataclass
class Network:
    """Layers (nndl.network3 layer objects, used for their shapes only) and their parameters in
    the book's shapes, float64 or float32."""

    layers: list[Layer]
    params: list[tuple[np.ndarray, np.ndarray]]
    dropout_key: int = 0
    step: int = 0
    velocity: list[tuple[np.ndarray, np.ndarray]] | None = None
    l1_applied: list[np.ndarray] | None = None
    l1_total: float = 0.0
    outputs: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def copy_of(cls, net: Any) -> Network:
        """A reference network with the same layers, parameters, dropout key and step as ``net``."""
        params = [(np.array(layer.w), np.array(layer.b)) for layer in net.layers]
        return cls(list(net.layers), params, net._dropout_key, int(net._state.step))

    def _forward(self, X: np.ndarray, training: bool) -> tuple[np.ndarray, list[Any]]:
        caches: list[Any] = []
        self.outputs = []
        a = X
        for l, (layer, (w, b)) in enumerate(zip(self.layers, self.params)):
            if isinstance(layer, ConvPoolLayer):
                cache = conv_pool_forward(layer, w, b, a)
                caches.append(cache)
                a = cache.a.reshape(a.shape[0], -1)
            else:
                factors = None
                if training and layer.p_dropout > 0:
                    factors = dropout_factors(layer.p_dropout, self.dropout_key, self.step, l, a.shape[0], a.shape[1])
                x_used, a = dense_forward(layer, w, b, a, factors)
                caches.append((x_used, factors))
            self.outputs.append(a)
        return a, caches

    def feedforward(self, X: np.ndarray) -> np.ndarray:
        return self._forward(X, training=False)[0]

    def backprop(self, X: np.ndarray, y: np.ndarray, training: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """Gradient of the log-likelihood cost summed over the rows of X, per layer (dw, db)."""
        probs, caches = self._forward(X, training)
        delta = probs.copy()
        delta[np.arange(len(y)), y] -= 1  # softmax with log-likelihood: dL/dz = a - y
        grads: list[tuple[np.ndarray, np.ndarray]] = [None] * len(self.layers)  # type: ignore[list-item]
        for l in range(len(self.layers) - 1, -1, -1):
            layer, (w, _), cache = self.layers[l], self.params[l], caches[l]
            if isinstance(layer, ConvPoolLayer):
                delta = delta.reshape(cache.a.shape)
                gw, gb, dx = conv_pool_backward(layer, w, cache, delta)
            else:
                x_used, factors = cache
                gw, gb, dx = dense_backward(w, x_used, delta, factors)
            grads[l] = (gw, gb)
            if l > 0:
                below = self.layers[l - 1]
                delta = dx * activation_derivative(below.activation, self.outputs[l - 1]).reshape(dx.shape)
        return grads

    def update_mini_batch(
        self,
        X: np.ndarray,
        y: np.ndarray,
        eta: float,
        lmbda: float,
        n: int,
        regularization: str = "l2",
        l1_method: str = "subgradient",
        l1_ratio: float = 0.5,
        momentum: float = 0.0,
    ) -> None:
        """One step on the mini-batch (X, y), with network3's lmbda (the penalty
        lmbda * sum(w^2) / 2 / (n / m), or lmbda * sum|w| / (n / m) for L1)."""
        m = len(y)
        grads = self.backprop(X, y, training=True)
        # network3's lmbda/num_training_batches is (lmbda*m)/n: network2's lmbda is lmbda*m.
        l2 = l1 = 0.0
        if regularization == "l2":
            l2 = lmbda * m
        elif regularization == "l1":
            l1 = lmbda * m
        elif regularization == "elastic_net":
            l2, l1 = lmbda * m * (1 - l1_ratio), lmbda * m * l1_ratio
        if momentum and self.velocity is None:
            self.velocity = [(np.zeros_like(w), np.zeros_like(b)) for w, b in self.params]
        if l1_method == "cumulative" and self.l1_applied is None:
            self.l1_applied = [np.zeros_like(w) for w, _ in self.params]
        if l1_method == "cumulative":
            self.l1_total += eta * l1 / n
        new = []
        for l, ((w, b), (gw, gb)) in enumerate(zip(self.params, grads)):
            step = -(eta / m) * gw - (eta * l2 / n) * w
            if l1 and l1_method == "subgradient":
                step = step - (eta * l1 / n) * np.sign(w)
            bias_step = -(eta / m) * gb
            if momentum:
                vw, vb = self.velocity[l]  # type: ignore[index]
                vw, vb = momentum * vw + step, momentum * vb + bias_step
                self.velocity[l] = (vw, vb)  # type: ignore[index]
                step, bias_step = vw, vb
            v = w + step
            if l1 and l1_method == "proximal":
                v = np.sign(v) * np.maximum(np.abs(v) - eta * l1 / n, 0)
            elif l1 and l1_method == "cumulative":
                u, q = self.l1_total, self.l1_applied[l]  # type: ignore[index]
                clipped = np.where(v > 0, np.maximum(0, v - (u + q)), np.where(v < 0, np.minimum(0, v + (u - q)), v))
                self.l1_applied[l] = q + (clipped - v)  # type: ignore[index]
                v = clipped
            new.append((v.astype(w.dtype), (b + bias_step).astype(b.dtype)))
        self.params = new
        self.step += 1

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(np.argmax(self.feedforward(X), axis=1) == y))
