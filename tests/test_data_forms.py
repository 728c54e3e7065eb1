"""Data from anywhere: pandas, float labels, CSV files, one vector or image at a time, float32 MNIST."""

from __future__ import annotations

import numpy as np
import pytest

import nndl


def small(rng, n=40):
    X = rng.uniform(size=(n, 6))
    return X, (X[:, 0] > 0.5).astype(np.int64) + (X[:, 1] > 0.5)


def test_pandas_frames_and_integral_float_labels_train_as_int_labels(Engine, rng):
    pd = pytest.importorskip("pandas")
    X, y = small(rng)
    nets = [Engine([6, 4, 3], seed=2) for _ in range(3)]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    nets[0].SGD((X, y), 2, 8, 0.5, verbose=False)
    nets[1].SGD((frame, pd.Series(y)), 2, 8, 0.5, verbose=False)
    nets[2].SGD((X, y.astype(np.float64)), 2, 8, 0.5, verbose=False)  # as np.loadtxt reads a label column
    for net in nets[1:]:
        for a, b in zip(net.weights, nets[0].weights):
            np.testing.assert_array_equal(a, b)
    assert nets[1].accuracy((frame, pd.Series(y))) == nets[0].accuracy((X, y))


def test_non_integral_float_labels_and_wrong_targets_are_named(Engine, rng):
    X, y = small(rng)
    net = Engine([6, 4, 3], seed=2)
    labels = y.astype(np.float64)
    labels[7] = 1.5
    with pytest.raises(ValueError, match=r"training_data: float labels must be whole numbers .* 1.5 at example 7"):
        net.SGD((X, labels), 1, 8, 0.5, verbose=False)
    with pytest.raises(ValueError, match=r"data: got targets of shape \(40, 2\); expected \(40, 3\)"):
        net.accuracy((X, np.zeros((40, 2))))


def test_load_csv_reads_a_label_column_with_or_without_header(tmp_path, rng):
    X, y = small(rng, 5)
    table = np.column_stack([y, X * 255])
    with_header = tmp_path / "train.csv"
    np.savetxt(with_header, table, delimiter=",", header="label," + ",".join(f"p{i}" for i in range(6)), comments="")
    Xc, yc = nndl.load_csv(with_header, "label", scale=255, dtype=np.float32)
    assert Xc.dtype == np.float32 and yc.dtype == np.int64
    np.testing.assert_allclose(Xc, X, rtol=1e-6)
    np.testing.assert_array_equal(yc, y)
    last = tmp_path / "last.csv"
    np.savetxt(last, np.column_stack([X, y]), delimiter=",")
    Xl, yl = nndl.load_csv(last, label_column=-1)
    np.testing.assert_allclose(Xl, X)
    np.testing.assert_array_equal(yl, y)
    table[2, 0] = 0.5
    np.savetxt(with_header, table, delimiter=",", header="label," + ",".join(f"p{i}" for i in range(6)), comments="")
    with pytest.raises(ValueError, match=r"label_column: labels must be whole numbers .* 0.5 in data row 2"):
        nndl.load_csv(with_header)
    with pytest.raises(ValueError, match=r"label_column: no column 'digit'"):
        nndl.load_csv(with_header, "digit")


def test_feedforward_and_predict_take_a_vector_an_image_or_a_batch(Engine, mnist_arrays):
    _, _, (Xt, _yt) = mnist_arrays
    net = Engine([784, 10], seed=3)
    rows = net.feedforward(Xt[:4])
    assert rows.shape == (4, 10)
    np.testing.assert_allclose(net.feedforward(Xt[0]), rows[0], rtol=1e-12)  # flat (784,)
    np.testing.assert_allclose(net.feedforward(Xt[0].reshape(28, 28)), rows[0], rtol=1e-12)  # one image
    np.testing.assert_allclose(net.feedforward(Xt[:4].reshape(4, 28, 28)), rows, rtol=1e-12)  # images
    np.testing.assert_allclose(net.feedforward(Xt[0].reshape(784, 1)), rows[0].reshape(10, 1), rtol=1e-12)
    assert net.predict(Xt[0].reshape(28, 28)) == int(np.argmax(rows[0]))
    np.testing.assert_array_equal(net.predict(Xt[:4]), np.argmax(rows, axis=1))
    with pytest.raises(ValueError, match=r"a: expected one input of 784 values"):
        net.predict(np.zeros((3, 27, 28)))


def test_load_mnist_in_float32_is_used_without_a_copy():
    (X, y), _, (Xt, _) = nndl.load_mnist(format="arrays", dtype=np.float32)
    assert X.dtype == Xt.dtype == np.float32 and X.shape == (50000, 784)
    np.testing.assert_allclose(X[:100], nndl.load_mnist(format="arrays")[0][0][:100], rtol=1e-7)
    from nndl.data.arrays import to_arrays

    assert to_arrays((X, y), 784, 10, np.dtype(np.float32)).X is X  # aligned and of the dtype: not converted
    with pytest.raises(ValueError, match="dtype: expected float32 or float64"):
        nndl.load_mnist(dtype=np.int32)
