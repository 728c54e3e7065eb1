"""One epoch of the book's chapter-6 conv networks: nndl.network3 against PyTorch on the CPU.

    pip install ".[bench]"        # torch==2.13.0, CPU build
    python benchmarks/chapter6_epoch.py [--images 2000] [--repeats 3]

Networks (float32, sigmoid, the book's shapes): conv(20 5x5, pool 2) + FC100 + softmax, and the
two-conv network (conv 20 5x5 pool 2, conv 40 5x5 pool 2, FC100, softmax), trained with SGD at
eta 0.1 on the first ``--images`` MNIST training images at mini-batch 10 and 100, with one and
two threads. Each configuration runs ``--repeats`` times with the engines alternating
(nndl, torch, nndl, torch, ...) so that a change in the machine's load hits both; the fastest
time of each is scaled to the 50,000 images of an epoch and printed, with torch's time over
nndl's. PyTorch's loop is the plain one (forward, nll_loss, backward, optimizer.step per
mini-batch), its convolutions oneDNN's; both engines do the same arithmetic per mini-batch.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import numpy as np

import nndl
from nndl import network3 as n3

EPOCH = 50_000


def nndl_net(two_conv: bool, m: int) -> n3.Network:
    if two_conv:
        layers: list[n3.Layer] = [
            n3.ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28)),
            n3.ConvPoolLayer((40, 20, 5, 5), (m, 20, 12, 12)),
            n3.FullyConnectedLayer(640, 100, weight_init="n_out"),
            n3.SoftmaxLayer(100, 10),
        ]
    else:
        layers = [
            n3.ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28)),
            n3.FullyConnectedLayer(2880, 100, weight_init="n_out"),
            n3.SoftmaxLayer(100, 10),
        ]
    return n3.Network(layers, m, seed=1)


def time_nndl(two_conv: bool, m: int, threads: int, X: np.ndarray, y: np.ndarray) -> float:
    nndl.set_num_threads(threads)
    net = nndl_net(two_conv, m)
    start = time.perf_counter()
    net.SGD((X, y), 1, m, 0.1, (X[:m], y[:m]), verbose=False)
    return time.perf_counter() - start


def torch_runner(torch: Any) -> Callable[[bool, int, int, np.ndarray, np.ndarray], float]:
    nn, F = torch.nn, torch.nn.functional

    def model(two_conv: bool) -> Any:
        if two_conv:
            return nn.Sequential(
                nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Sigmoid(),
                nn.Conv2d(20, 40, 5), nn.MaxPool2d(2), nn.Sigmoid(),
                nn.Flatten(), nn.Linear(640, 100), nn.Sigmoid(), nn.Linear(100, 10),
            )  # fmt: skip
        return nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Sigmoid(),
            nn.Flatten(), nn.Linear(2880, 100), nn.Sigmoid(), nn.Linear(100, 10),
        )  # fmt: skip

    def run(two_conv: bool, m: int, threads: int, X: np.ndarray, y: np.ndarray) -> float:
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        net = model(two_conv)
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        images = torch.from_numpy(X.reshape(-1, 1, 28, 28))
        labels = torch.from_numpy(y)
        start = time.perf_counter()
        for b in range(0, len(y), m):
            opt.zero_grad(set_to_none=True)
            loss = F.nll_loss(F.log_softmax(net(images[b : b + m]), dim=1), labels[b : b + m])
            loss.backward()
            opt.step()
        return time.perf_counter() - start

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        raise SystemExit("PyTorch is not installed: pip install '.[bench]'") from None
    (X, y), _, _ = n3.load_data_shared()
    X, y = X[: args.images], y[: args.images]
    engines = {"nndl": time_nndl, "torch": torch_runner(torch)}
    print(f"nndl {nndl.__version__} ({nndl.simd_info()['path']}), torch {torch.__version__}")
    print(
        f"seconds per epoch of {EPOCH} images (timed on {args.images}, fastest of {args.repeats}, engines alternating)"
    )
    print(f"{'network':<10} {'m':>4} {'threads':>7} {'nndl':>8} {'torch':>8} {'torch/nndl':>10}")
    for two_conv in (False, True):
        for m in (10, 100):
            for threads in (1, 2):
                best = {name: float("inf") for name in engines}
                for _ in range(args.repeats):
                    for name, engine in engines.items():
                        best[name] = min(best[name], engine(two_conv, m, threads, X, y))
                scale = EPOCH / args.images
                a, b = best["nndl"] * scale, best["torch"] * scale
                name = "two-conv" if two_conv else "conv+FC"
                print(f"{name:<10} {m:>4} {threads:>7} {a:>8.1f} {b:>8.1f} {b / a:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
