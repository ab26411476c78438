"""notebooks/ (issue #11): stored without outputs, and each one executes with non-empty figures."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = ["01_the_race.ipynb", "02_what_if.ipynb", "03_model_checks.ipynb"]

# jupyter_core warns (DeprecationWarning) unless it is told to use the platform's folders, and
# pytest turns warnings into errors: opt in to the future default before nbclient is imported
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")


def read(name: str) -> Any:
    import nbformat

    return nbformat.read(NOTEBOOKS / name, as_version=4)


def test_the_notebooks_are_the_three_of_the_issue() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    """Committed clean: no outputs, no execution counts (outputs would go stale and bloat git)."""
    import nbformat

    nb = read(name)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert [c.outputs for c in code] == [[] for _ in code]
    assert {c.execution_count for c in code} == {None}


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_uses_only_the_public_api_and_configs(name: str) -> None:
    """Notebooks are read by users: no private names, and scenarios only from configs/."""
    import re

    source = "\n".join(c.source for c in read(name).cells if c.cell_type == "code")
    assert "import snatsim" in source
    assert not re.search(r"snatsim(\.\w+)*\._", source)
    assert set(re.findall(r'"([^"]+\.toml)"', source)) <= {
        f"../configs/{p.name}" for p in (ROOT / "configs").glob("*.toml")}


def png_outputs(nb: Any) -> list[bytes]:
    return [base64.b64decode(out["data"]["image/png"])
            for cell in nb.cells if cell.cell_type == "code"
            for out in cell.outputs if "image/png" in out.get("data", {})]


def assert_non_blank_png(data: bytes) -> None:
    import matplotlib.image

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[0] >= 200 and pixels.shape[1] >= 300
    assert float(pixels[..., :3].std()) > 0.01


@pytest.mark.slow
@pytest.mark.parametrize(("name", "figures"), [(EXPECTED[0], 3), (EXPECTED[1], 2), (EXPECTED[2], 1)])
def test_notebook_executes_and_its_figures_are_not_blank(name: str, figures: int) -> None:
    """Run every cell in a fresh kernel from notebooks/ (as a user would); no cell may fail.

    Each notebook's own cells assert what it shows (03 asserts that the closed forms fall inside
    the simulated intervals), so a model change that breaks a claim fails here too.
    """
    from nbclient import NotebookClient

    nb = read(name)
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
              if out.get("output_type") == "error"]
    assert errors == []
    images = png_outputs(nb)
    assert len(images) >= figures
    for data in images:
        assert_non_blank_png(data)
