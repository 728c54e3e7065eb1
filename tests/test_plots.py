"""Each plot returns a matplotlib Figure and, given a path, writes a non-empty PNG of figsize * dpi
pixels; nothing touches pyplot's backend; missing matplotlib gives a clear error."""

from __future__ import annotations

import struct
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure

import nndl
from nndl import plots


def png_size(path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def fake_history(rng, epochs: int = 6) -> tuple:
    acc = np.sort(rng.integers(8000, 9600, epochs)).tolist()
    cost = np.sort(rng.random(epochs))[::-1].tolist()
    return (cost, acc, [c * 0.9 for c in cost], [a * 5 for a in acc])


def sparse_weights(rng, zero_fraction: float) -> np.ndarray:
    w = rng.standard_normal((30, 784)) / 28
    w[rng.random(w.shape) < zero_fraction] = 0.0
    return w


def test_learning_curves(tmp_path, rng):
    runs = {"none": fake_history(rng), "L2, λ=5": fake_history(rng), "L1, λ=5": fake_history(rng)}
    path = tmp_path / "curves.png"
    fig = plots.learning_curves(runs, path, n_training=50000, n_evaluation=10000, title="test", figsize=(10, 4), dpi=50)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert path.stat().st_size > 5000
    assert png_size(path) == (500, 200)


def test_learning_curves_evaluation_only(tmp_path, rng):
    cost, acc, _, _ = fake_history(rng)
    path = tmp_path / "c.png"
    plots.learning_curves({"run": (cost, acc, [], [])}, path, show_training=False)
    assert png_size(path) == (1300, 480)


def test_first_layer_weights(tmp_path, rng):
    net = nndl.Network([784, 30, 10], seed=1)  # a network works as well as an array
    path = tmp_path / "w.png"
    plots.first_layer_weights({"L2": net, "L1": sparse_weights(rng, 0.6)}, path)
    assert path.stat().st_size > 10000
    assert png_size(path) == (1200, 600)


def test_first_layer_weights_needs_images(tmp_path, rng):
    with pytest.raises(ValueError, match="not images"):
        plots.first_layer_weights({"x": rng.standard_normal((5, 100))}, tmp_path / "w.png")


def test_weight_histogram(tmp_path, rng):
    nets = {"L2": sparse_weights(rng, 0.0), "L1": [sparse_weights(rng, 0.5)]}
    path = tmp_path / "h.png"
    plots.weight_histogram(nets, path, dpi=80)
    assert path.stat().st_size > 5000
    assert png_size(path) == (800, 400)


def test_missing_directory_is_a_clear_error(tmp_path, rng):
    with pytest.raises(FileNotFoundError):
        plots.weight_histogram({"w": sparse_weights(rng, 0.1)}, tmp_path / "nope" / "h.png")


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(plots.PlotDependencyError, match=r"pip install nndl\[plot\]"):
        plots.require_matplotlib()


def test_no_path_gives_a_figure_that_shows_as_png_and_leaves_pyplot_alone(rng):
    import matplotlib

    backend = matplotlib.get_backend()
    pyplot_loaded = "matplotlib.pyplot" in sys.modules
    fig = plots.weight_histogram({"w": sparse_weights(rng, 0.3)}, dpi=40)
    png = fig._repr_png_()  # what IPython displays when no matplotlib formatter is installed
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (400, 200)
    assert matplotlib.get_backend() == backend
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_loaded  # not imported by nndl.plots


def test_update_ema_plots_the_per_layer_norms_of_a_run(tmp_path):
    (X, y), _, _ = nndl.load_mnist(format="arrays")
    net = nndl.Network([784, 12, 10], seed=2)
    history = net.SGD((X[:500], y[:500]), 3, 10, 0.5, monitor_update_ema=0.05, verbose=False)
    path = tmp_path / "ema.png"
    fig = plots.update_ema(history, path, dpi=40)
    norm_ax = fig.axes[0]
    assert [line.get_label() for line in norm_ax.get_lines()] == ["layer 1", "layer 2"]
    np.testing.assert_allclose(norm_ax.get_lines()[1].get_ydata(), [n[1] for n in history.update_ema_norms])
    assert png_size(path) == (440, 180)
    with pytest.raises(ValueError, match="monitor_update_ema"):
        plots.update_ema(net.SGD((X[:50], y[:50]), 1, 10, 0.5, verbose=False))
