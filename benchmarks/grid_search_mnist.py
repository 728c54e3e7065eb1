"""The README's grid search: L1 against L2 and lmbda on MNIST, on a Dask cluster of one worker and
then of two, printing the best parameters, their score and the wall time of each search.

    python benchmarks/grid_search_mnist.py                       # LocalClusters of 1 and 2 workers, 2 threads
    python benchmarks/grid_search_mnist.py --n-train 2000 --epochs 2          # a quick look
    python benchmarks/grid_search_mnist.py --scheduler tcp://host:8786        # a running cluster

Needs the dask extra: ``pip install ".[dask]"``.
"""

from __future__ import annotations

import argparse
import os
import time

# One engine thread per fit, read when the engine first runs, in this process and in the Dask
# workers it spawns (they inherit the environment): the workers give the parallelism. The
# environment rather than NNDLClassifier(n_threads=1) because builds of the thread pool before
# d25d5ee could hang in set_num_threads (in the refit after a Dask search).
os.environ.setdefault("NNDL_NUM_THREADS", "1")

import joblib
import numpy as np
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV

import nndl
from nndl.sklearn import NNDLClassifier

# No dashboard; the scheduler's other HTTP endpoints on a free loopback port instead of 8787.
QUIET_SCHEDULER = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}

GRID = {"penalty": ["l1", "l2"], "alpha": [0.1, 1.0, 5.0, 20.0]}


def grid_search(
    X: np.ndarray, y: np.ndarray, epochs: int, backend: str = "dask", n_jobs: int | None = None
) -> GridSearchCV:
    """The README example: 8 settings x 3 folds = 24 fits, then a refit of the best on all of X."""
    search = GridSearchCV(
        NNDLClassifier(
            hidden_layer_sizes=(30,), learning_rate_init=0.5, batch_size=10, max_iter=epochs, random_state=1
        ),
        GRID,
        cv=3,
        n_jobs=n_jobs,
    )
    with joblib.parallel_backend(backend):
        search.fit(X, y)
    return search


def report(label: str, search: GridSearchCV, seconds: float, X_test: np.ndarray, y_test: np.ndarray) -> None:
    print(
        f"{label}: best params {search.best_params_}, best 3-fold CV accuracy {search.best_score_:.4f}, "
        f"test accuracy of the refit {search.score(X_test, y_test):.4f}, wall time {seconds:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-train", type=int, default=10_000, help="training images searched over (default 10000)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per fit (default 5)")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="LocalCluster sizes to time, one search each (default: 1 2)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="also time the search on this many threads of one process, no Dask (0: skip; default 2)",
    )
    parser.add_argument(
        "--scheduler", help="address of a running scheduler, e.g. tcp://host:8786 (instead of LocalClusters)"
    )
    args = parser.parse_args()

    (X_train, y_train), _, (X_test, y_test) = nndl.load_mnist(format="arrays")
    X, y = X_train[: args.n_train], y_train[: args.n_train]
    print(
        f"MNIST: {len(X)} training images, 3-fold CV, {args.epochs} epochs per fit, grid {GRID}; "
        f"test accuracy on the {len(X_test)} test images"
    )

    if args.scheduler:
        with Client(args.scheduler) as client:
            start = time.perf_counter()
            search = grid_search(X, y, args.epochs)
            report(
                f"{len(client.scheduler_info()['workers'])} workers at {args.scheduler}",
                search,
                time.perf_counter() - start,
                X_test,
                y_test,
            )
        return

    for n_workers in args.workers:
        # Processes, one thread each, loopback only, no dashboard: a cluster of n single-core machines.
        with (
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                scheduler_kwargs=QUIET_SCHEDULER,
            ) as cluster,
            Client(cluster),
        ):
            start = time.perf_counter()
            search = grid_search(X, y, args.epochs)
            seconds = time.perf_counter() - start
        report(f"Dask, {n_workers} worker process{'es' if n_workers > 1 else ''}", search, seconds, X_test, y_test)
    if args.threads:
        # No cluster: two threads of this process. The engine releases the GIL while it trains,
        # so the fits run side by side.
        start = time.perf_counter()
        search = grid_search(X, y, args.epochs, backend="threading", n_jobs=args.threads)
        report(f"joblib threading, {args.threads} threads", search, time.perf_counter() - start, X_test, y_test)
    print("mean CV accuracy per setting (last search):")
    for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
        print(f"  penalty={params['penalty']}  alpha={params['alpha']:<5}  {score:.4f}")


if __name__ == "__main__":
    main()
