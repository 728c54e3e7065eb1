"""``nndl bench --chapter6``: one epoch of the book's chapter-6 convolutional networks, nndl.network3
against PyTorch and JAX on the CPU, at mini-batch 10 and 100, one and two threads, in one run.

Networks (float32, sigmoid, the book's shapes, network3's order conv -> max-pool -> bias -> sigmoid):
``conv+FC100`` = conv(20 5x5, pool 2) + FC100 + softmax; ``two-conv`` = conv(20 5x5, pool 2) +
conv(40 5x5, pool 2) + FC100 + softmax. Plain SGD at eta 0.1 on the mean log-likelihood cost of each
mini-batch, no regularization (the book's first conv rows).

Engines, each in a worker process of its own pinned to the first one or two CPUs (see
``nndl.bench_grid``):

- ``nndl``: ``nndl.network3.Network.SGD`` as a user calls it (the C++ core: im2col and the SIMD
  dense kernels).
- ``torch``: the same network in ``torch.nn.functional`` (oneDNN's convolutions and pooling), a
  Python step per mini-batch: forward, autograd's backward, ``p -= eta * grad``.
- ``jax``: the whole epoch as one jit-compiled ``lax.scan`` over the mini-batches
  (``lax.conv_general_dilated``, ``lax.reduce_window`` and ``jax.grad``), compiled before timing.

Before timing, every engine takes one mini-batch step from the same initial parameters (nndl's,
seed 1) and the parent compares the parameters it gets with nndl's: the run says how far apart
they are, so a peer that does other arithmetic shows. Each configuration is timed on ``--images``
training images and scaled to the 50,000 of an epoch; engines alternate within each repeat and
the best of the repeats is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any, Callable

import numpy as np

from .bench_grid import WorkerProcess, log_targets

ETA = 0.1
EPOCH = 50_000
NETWORKS = ("conv+FC100", "two-conv")
MINI_BATCHES = (10, 100)
THREADS = (1, 2)
ENGINES = ("nndl", "torch", "jax")
#: Parameters after one step may differ by float32 rounding in a different summation order, no more.
AGREEMENT_TOLERANCE = 1e-4


def book_layers(network: str, m: int) -> list[Any]:
    """The network's nndl.network3 layers for mini-batches of ``m`` (sigmoid; FC weights as network3.py's code)."""
    from . import network3 as n3

    if network == "conv+FC100":
        return [
            n3.ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28)),
            n3.FullyConnectedLayer(20 * 12 * 12, 100, weight_init="n_out"),
            n3.SoftmaxLayer(100, 10),
        ]
    if network == "two-conv":
        return [
            n3.ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28)),
            n3.ConvPoolLayer((40, 20, 5, 5), (m, 20, 12, 12)),
            n3.FullyConnectedLayer(40 * 4 * 4, 100, weight_init="n_out"),
            n3.SoftmaxLayer(100, 10),
        ]
    raise ValueError(f"network: expected one of {NETWORKS}, got {network!r}")


def conv_layer_count(network: str) -> int:
    return 2 if network == "two-conv" else 1


def initial_parameters(network: str, m: int) -> list[np.ndarray]:
    """nndl's initial parameters (seed 1) in the book's shapes: conv w (F, C, 5, 5), b (F,); dense w
    (n_in, n_out), b (n_out,). Every engine starts from these."""
    from . import network3 as n3

    net = n3.Network(book_layers(network, m), m, seed=1)
    return [np.array(p, dtype=np.float32) for p in net.params]


# ---- each engine's epoch -------------------------------------------------------------------------


def nndl_epoch(network: str, m: int, params: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """SGD over (X, y) in order with nndl.network3; returns the parameters."""
    from . import network3 as n3

    net = n3.Network(book_layers(network, m), m, seed=1)
    for layer, (w, b) in zip(net.layers, zip(params[0::2], params[1::2])):
        layer.w, layer.b = w, b
    net.SGD((X, y), 1, m, ETA, (X[:m], y[:m]), shuffle=False, verbose=False)
    return [np.array(p) for p in net.params]


def torch_epoch_function(torch: Any, network: str) -> Callable[[list[np.ndarray], np.ndarray, np.ndarray, int], Any]:
    F = torch.nn.functional
    convs = conv_layer_count(network)

    def loss(p: list[Any], x: Any, labels: Any) -> Any:
        h = x.reshape(-1, 1, 28, 28)
        for k in range(convs):
            # Bias after the pool, as network3 (the same function: a channel's bias does not move its maximum).
            h = torch.sigmoid(F.max_pool2d(F.conv2d(h, p[2 * k]), 2) + p[2 * k + 1].reshape(1, -1, 1, 1))
        h = torch.sigmoid(h.flatten(1) @ p[2 * convs] + p[2 * convs + 1])
        logits = h @ p[2 * convs + 2] + p[2 * convs + 3]
        return F.nll_loss(F.log_softmax(logits, dim=1), labels)

    def epoch(params: list[np.ndarray], X: np.ndarray, y: np.ndarray, m: int) -> list[Any]:
        p = [torch.tensor(a, requires_grad=True) for a in params]
        images, labels = torch.from_numpy(X), torch.from_numpy(y)
        for k in range(0, len(y), m):
            for q in p:
                q.grad = None
            loss(p, images[k : k + m], labels[k : k + m]).backward()
            with torch.no_grad():
                for q in p:
                    q -= ETA * q.grad
        return p

    return epoch


def jax_epoch_function(network: str) -> Callable[[list[Any], Any, Any, Any], Any]:
    import jax
    import jax.numpy as jnp

    convs = conv_layer_count(network)

    def loss(p: list[Any], x: Any, labels: Any) -> Any:
        h = x.reshape(-1, 1, 28, 28)
        for k in range(convs):
            z = jax.lax.conv_general_dilated(h, p[2 * k], (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"))
            z = jax.lax.reduce_window(z, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
            h = jax.nn.sigmoid(z + p[2 * k + 1].reshape(1, -1, 1, 1))
        h = jax.nn.sigmoid(h.reshape(h.shape[0], -1) @ p[2 * convs] + p[2 * convs + 1])
        logits = h @ p[2 * convs + 2] + p[2 * convs + 3]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))

    gradient = jax.grad(loss)

    def epoch(params: list[Any], X: Any, y: Any, batches: Any) -> Any:
        def step(p: list[Any], rows: Any) -> tuple[list[Any], None]:
            g = gradient(p, X[rows], y[rows])
            return [a - ETA * da for a, da in zip(p, g)], None

        return jax.lax.scan(step, params, batches)[0]

    compiled: Callable[[list[Any], Any, Any, Any], Any] = jax.jit(epoch, donate_argnums=(0,))
    return compiled


# ---- the worker process ----------------------------------------------------------------------------


class Worker:
    """Times configurations of one engine: loads MNIST once, compiles JAX's epoch once per configuration."""

    def __init__(self, engine: str, threads: int) -> None:
        self.engine, self.threads = engine, threads
        self.compiled: dict[tuple[Any, ...], Any] = {}
        from .network3 import load_data_shared

        (X, y), _, _ = load_data_shared()
        self.X, self.y = X, y
        if engine == "torch":
            import torch

            torch.set_num_threads(threads)
            self.torch = torch
        if engine == "nndl":
            import nndl

            nndl.set_num_threads(threads)

    def epoch(self, network: str, m: int, params: list[np.ndarray], images: int) -> tuple[list[np.ndarray], float]:
        """SGD over the first ``images`` training images in order: (parameters after it, seconds)."""
        X, y = self.X[:images], self.y[:images]
        if self.engine == "nndl":
            start = time.perf_counter()
            result = nndl_epoch(network, m, params, X, y)
            return result, time.perf_counter() - start
        if self.engine == "torch":
            epoch = torch_epoch_function(self.torch, network)
            start = time.perf_counter()
            tensors = epoch(params, X, y, m)
            seconds = time.perf_counter() - start
            return [t.detach().numpy() for t in tensors], seconds
        if self.engine == "jax":
            import jax

            key = (network, m, images)
            if key not in self.compiled:
                fn = jax_epoch_function(network)
                data = jax.device_put(X), jax.device_put(y.astype(np.int32))
                batches = jax.device_put(np.arange(images, dtype=np.int32).reshape(-1, m))
                jax.block_until_ready(fn([jax.numpy.asarray(p) for p in params], *data, batches))  # compile
                self.compiled[key] = (fn, data, batches)
            fn, data, batches = self.compiled[key]
            start_params = [jax.numpy.asarray(p) for p in params]
            jax.block_until_ready(start_params)
            start = time.perf_counter()
            final = jax.block_until_ready(fn(start_params, *data, batches))
            seconds = time.perf_counter() - start
            return [np.asarray(p) for p in final], seconds
        raise ValueError(f"engine: unknown {self.engine!r}")


def worker_main(engine: str, threads: int) -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:threads]))
    worker = Worker(engine, threads)
    for line in sys.stdin:
        request = json.loads(line)
        network, m = request["network"], request["m"]
        params = initial_parameters(network, m)
        if request.get("first_step"):
            after, _ = worker.epoch(network, m, params, m)
            answer: dict[str, Any] = {"params": [p.tolist() for p in after]}
        else:
            _, seconds = worker.epoch(network, m, params, request["images"])
            answer = {"seconds": seconds * EPOCH / request["images"]}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


# ---- the parent: alternate, compare, report -------------------------------------------------------


def available_engines() -> tuple[list[str], list[str]]:
    found, missing = [], []
    for engine in ENGINES:
        try:
            __import__(engine if engine != "nndl" else "nndl")
            found.append(engine)
        except ImportError:
            missing.append(f"{engine}: not installed (pip install '.[bench]'), skipped")
    return found, missing


def largest_difference(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """The largest absolute difference between two parameter lists, relative to the largest parameter."""
    scale = max(float(np.max(np.abs(p))) for p in b)
    return max(float(np.max(np.abs(np.asarray(p) - q))) for p, q in zip(a, b)) / scale


def run(images: int, repeats: int, log: Callable[[str], None] = print) -> int:
    engines, missing = available_engines()
    for text in missing:
        log(f"note: {text}")
    workers = {(e, t): WorkerProcess(e, t, module="nndl.bench_conv") for e in engines for t in THREADS}
    configs = [(net, m, t) for net in NETWORKS for m in MINI_BATCHES for t in THREADS]
    best: dict[tuple[Any, ...], float] = {}
    agreement: dict[str, float] = {}
    try:
        for net in NETWORKS:
            for m in MINI_BATCHES:
                want = [
                    np.asarray(p)
                    for p in workers[("nndl", 1)].ask({"network": net, "m": m, "first_step": True})["params"]
                ]
                for e in engines:
                    if e == "nndl":
                        continue
                    got = workers[(e, 1)].ask({"network": net, "m": m, "first_step": True})["params"]
                    agreement[e] = max(agreement.get(e, 0.0), largest_difference([np.asarray(p) for p in got], want))
        for rep in range(repeats):
            for net, m, t in configs:
                for e in engines:
                    answer = workers[(e, t)].ask({"network": net, "m": m, "images": images})
                    best[(e, net, m, t)] = min(best.get((e, net, m, t), float("inf")), answer["seconds"])
            print(f"  repeat {rep + 1}/{repeats} done", file=sys.stderr, flush=True)
    finally:
        for w in workers.values():
            w.close()
    report(best, agreement, engines, images, repeats, log)
    return 0


def report(
    best: dict[tuple[Any, ...], float],
    agreement: dict[str, float],
    engines: list[str],
    images: int,
    repeats: int,
    log: Callable[[str], None],
) -> list[tuple[str, str, bool]]:
    """Print the table and the issue's targets; returns the targets as (what, measured, met)."""
    import nndl

    log(f"# nndl bench --chapter6: one epoch of {EPOCH:,} MNIST images, float32, sigmoid, SGD eta {ETA}")
    log(
        f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs; nndl {nndl.__version__} "
        f"({nndl.simd_info()['path']} kernels); timed on {images} images and scaled, best of {repeats} "
        "alternating repeats"
    )
    for e, difference in sorted(agreement.items()):
        verdict = "agree" if difference <= AGREEMENT_TOLERANCE else "DIFFER"
        log(
            f"{e}: parameters after one mini-batch {verdict} with nndl's (largest difference {difference:.1e} "
            "of the largest parameter)"
        )
    others = [e for e in engines if e != "nndl"]
    log("")
    log("| network | m | threads | " + " | ".join(f"{e} (s)" for e in engines) + " | fastest other / nndl |")
    log("|---|---:|---:|" + "---:|" * len(engines) + "---:|")
    ratios: dict[tuple[str, int, int], float] = {}
    for net in NETWORKS:
        for m in MINI_BATCHES:
            for t in THREADS:
                cells = [f"{best[(e, net, m, t)]:.2f}" for e in engines]
                ratio = ""
                if others:
                    ratios[(net, m, t)] = min(best[(e, net, m, t)] for e in others) / best[("nndl", net, m, t)]
                    ratio = f"{ratios[(net, m, t)]:.2f}"
                log(f"| {net} | {m} | {t} | " + " | ".join(cells) + f" | {ratio} |")
    targets: list[tuple[str, str, bool]] = []
    if ratios:
        at10 = min((r, k) for k, r in ratios.items() if k[1] == 10)
        at100 = min((r, k) for k, r in ratios.items() if k[1] == 100)
        targets = [
            (
                "nndl >= 2x the faster peer at mini-batch 10",
                f"worst {at10[0]:.2f}x ({at10[1][0]}, {at10[1][2]} thread(s))",
                at10[0] >= 2.0,
            ),
            (
                "nndl not slower than the faster peer at mini-batch 100",
                f"worst {at100[0]:.2f}x ({at100[1][0]}, {at100[1][2]} thread(s))",
                at100[0] >= 1.0,
            ),
        ]
        log("")
        log_targets(targets, log, f" (peers: {', '.join(others)})")
    else:
        log("")
        log("no peer installed: nothing to compare with (pip install '.[bench]')")
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nndl bench --chapter6", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--images", type=int, default=None, help="training images per timed run (default 2000, quick 500)"
    )
    parser.add_argument("--repeats", type=int, default=None, help="repeats per configuration (default 3, quick 1)")
    parser.add_argument("--quick", action="store_true", help="500 images per run, 1 repeat")
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.threads)
    images = args.images or (500 if args.quick else 2000)
    if images < 100 or images % 100:
        parser.error(f"--images: expected a multiple of 100 (both mini-batch sizes divide it), got {images}")
    repeats = args.repeats or (1 if args.quick else 3)
    if repeats < 1:
        parser.error(f"--repeats: expected at least 1, got {repeats}")
    return run(images, repeats)


if __name__ == "__main__":
    sys.exit(main())
