"""In a real Jupyter kernel, an nndl plot displays inline and the user's own plt.plot still does
afterwards (nndl.plots never switches pyplot's backend); SGD(progress=True) shows a tqdm bar."""

from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

CELLS = [
    "%matplotlib inline\nimport matplotlib.pyplot as plt\nimport nndl, nndl.plots",
    "(X, y), _, _ = nndl.load_mnist(format='arrays')\n"
    "net = nndl.Network([784, 5, 10], seed=1)\n"
    "history = net.SGD((X[:200], y[:200]), 2, 10, 0.5, monitor_update_ema=0.1, verbose=False, progress=True)\n"
    "nndl.plots.update_ema(history)",
    "plt.plot([1, 2, 3], [3, 1, 2])\nplt.show()",
]


@pytest.mark.slow  # starts a Jupyter kernel: about 20 s on the shared machine
def test_plots_display_inline_and_leave_the_users_pyplot_working(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [cell.outputs for cell in notebook.cells]
    assert any("image/png" in o.get("data", {}) for o in outputs[1]), outputs[1]  # nndl's figure
    assert any("image/png" in o.get("data", {}) for o in outputs[2]), outputs[2]  # the user's own plot
    progress = [
        o
        for o in outputs[1]
        if o.get("output_type") in ("stream", "display_data") and "image/png" not in o.get("data", {})
    ]
    assert progress, outputs[1]  # tqdm.auto: a widget, or text on stderr without ipywidgets
