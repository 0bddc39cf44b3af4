"""The notebooks in examples/ run top to bottom, so they never rot.

Each notebook starts its own demo gateway (`fno-gateway demo --scale 0.05` in a temporary folder, on a
free port) and stops it in its last cell; a cell that raises fails the test. The kernel is this
interpreter's: a kernel spec written for `sys.executable` is put first on JUPYTER_PATH, so neither
`python -m ipykernel install` nor a user's own `python3` kernel plays any part.

To save fresh outputs after editing a notebook: `python -m tests.test_examples examples/NN-name.ipynb`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from ipykernel import kernelspec

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds; a whole notebook takes 5-20 s


def use_this_interpreter_kernel(folder: Path) -> None:
    """A `python3` kernel spec that runs sys.executable, first on JUPYTER_PATH (set by the caller)."""
    kernelspec.write_kernel_spec(folder / "kernels" / "python3")


def run_notebook(path: Path, save: bool = False) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    if save:
        nbformat.write(notebook, path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_saved_with_small_outputs(path: Path) -> None:
    """Committed as run: every code cell executed, no error output, the file under 100 kB."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), f"{path.name}: run it and save its outputs"
    assert not [output for cell in code for output in cell.outputs if output.output_type == "error"]
    assert path.stat().st_size < 100_000, f"{path.name}: keep outputs small"


def test_the_examples_are_there() -> None:
    assert {path.name for path in NOTEBOOKS} >= {"01-explore.ipynb", "02-pandas.ipynb", "03-dual-write.ipynb",
                                                  "04-virtual-tables.ipynb", "05-writes-and-batch.ipynb"}


@pytest.mark.e2e
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_this_interpreter_kernel(tmp_path)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    run_notebook(path)


if __name__ == "__main__":  # re-run notebooks in place, saving their outputs
    import os
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="fno-kernel-"))
    use_this_interpreter_kernel(folder)
    os.environ["JUPYTER_PATH"] = str(folder)
    for argument in sys.argv[1:] or [str(path) for path in NOTEBOOKS]:
        run_notebook(Path(argument), save=True)
        print("saved", argument)
