"""A grid search over lmbda and the regularizer on a real Dask cluster: a LocalCluster with two
worker processes on 127.0.0.1, driven through joblib's Dask backend, as one would drive a
cluster at ``Client("tcp://scheduler-host:8786")``."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is an optional extra (pip install .[dask])")
distributed = pytest.importorskip("distributed", reason="dask.distributed is an optional extra (pip install .[dask])")

import joblib  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from nndl.sklearn import NNDLClassifier  # noqa: E402

# No dashboard, and the scheduler's remaining HTTP endpoints (health, metrics) on a free loopback
# port: with the dashboard off they still default to port 8787, and when another cluster holds it
# distributed warns "Port 8787 is already in use" (an error under our strict pytest).
QUIET_SCHEDULER = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}

GRID = {"penalty": ["l1", "l2"], "alpha": [0.1, 1.0]}


@pytest.fixture(scope="module")
def cluster():
    # Worker processes (not threads), so the estimator and its network really travel by pickle.
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs=QUIET_SCHEDULER,
    ) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def mnist_subset(mnist_arrays):
    (X, y), _, _ = mnist_arrays
    return X[:1000], y[:1000]


def make_search() -> GridSearchCV:
    return GridSearchCV(NNDLClassifier(max_iter=2, random_state=0), GRID, cv=2)


def test_grid_search_on_a_local_dask_cluster(cluster, mnist_subset):
    X, y = mnist_subset
    serial = make_search().fit(X, y)
    with distributed.Client(cluster) as client:
        worker_pids = set(client.run(os.getpid).values())
        assert len(worker_pids) == 2 and os.getpid() not in worker_pids
        search = make_search()
        with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            search.fit(X, y)
        # The fits ran as tasks on the cluster's workers (joblib batches them, so count >= 1).
        workers = {record["worker"] for record in stream.data}
        assert workers and workers <= set(client.scheduler_info()["workers"])
    # Fixed seeds and float64: the workers compute what the serial search computes, exactly.
    assert np.array_equal(search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    assert search.best_params_ == serial.best_params_
    assert search.best_params_["penalty"] in GRID["penalty"] and search.best_params_["alpha"] in GRID["alpha"]
    assert search.best_score_ > 0.6  # 2 epochs on 500 images; chance is 0.1
    assert np.array_equal(search.predict(X[:50]), serial.predict(X[:50]))
