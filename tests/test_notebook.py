"""The example notebook runs from top to bottom in a real Jupyter kernel (nbclient), on tiny settings."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "tuning_in_a_notebook.ipynb"


def test_the_example_notebook_runs(tiny_npz: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KERASTUNE_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("MNIST_NPZ", str(tiny_npz))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    outputs = {index: cell.get("outputs", []) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"}
    assert not [o for cell in outputs.values() for o in cell if o.output_type == "error"]
    text = "".join(o.get("text", "") for cell in outputs.values() for o in cell if o.output_type == "stream")
    assert "400 training and 100 test images of 28x28" in text
    assert "2 trials completed" in text and "test accuracy" in text
    assert "480 training and 120 test rows of 8 columns" in text and "regression" in text and "test MAE" in text
    images = [o for cell in outputs.values() for o in cell if "image/png" in o.get("data", {})]
    assert len(images) == 1  # the plot
