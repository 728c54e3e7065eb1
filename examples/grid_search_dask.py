# L1 against L2 and lmbda on MNIST: scikit-learn's GridSearchCV on a Dask cluster.
import joblib
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV

import nndl
from nndl.sklearn import NNDLClassifier

if __name__ == "__main__":  # Dask's worker processes import this file; only the parent searches
    (X, y), _, (X_test, y_test) = nndl.load_mnist(format="arrays")
    X, y = X[:10_000], y[:10_000]
    search = GridSearchCV(
        NNDLClassifier(hidden_layer_sizes=(30,), learning_rate_init=0.5, batch_size=10, max_iter=5,
                       n_threads=1, random_state=1),
        {"penalty": ["l1", "l2"], "alpha": [0.1, 1.0, 5.0, 20.0]}, cv=3)
    # Two worker processes on this machine; Client("tcp://scheduler-host:8786") uses a running cluster.
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster):
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
    print("best:", search.best_params_, f"CV accuracy {search.best_score_:.4f}",
          f"test accuracy {search.score(X_test, y_test):.4f}")
