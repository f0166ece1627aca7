"""The chapter and lab notebooks are committed clean, and the table of contents matches them.

Notebooks are stored without outputs: the book build and nbval execute them from
scratch, so every figure and every checked number comes from a fresh run. These tests
read the files as plain JSON (no Jupyter machinery) and so run in milliseconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
TOC = ROOT / "_toc.yml"


def chapter_notebooks() -> list[Path]:
    return sorted(p for p in CHAPTERS.glob("**/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def toc_files() -> list[str]:
    """Every `file:` and `root:` entry of _toc.yml, as written (no suffix).

    _toc.yml is simple enough to read without a YAML parser, which keeps this test free
    of dependencies beyond the standard library.
    """
    entries = []
    for line in TOC.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        match = re.match(r"^\s*(?:-\s*)?(file|root)\s*:\s*(\S+)\s*$", line)
        if match:
            entries.append(match.group(2).strip("'\""))
    return entries


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def headings(markdown: str) -> list[str]:
    """Lines of a markdown cell that are ATX headings, skipping fenced code blocks."""
    found, fence = [], None
    for line in markdown.splitlines():
        stripped = line.strip()
        match = re.match(r"^(`{3,}|~{3,})", stripped)
        if fence is None and match:
            fence = match.group(1)
        elif (
            fence is not None and stripped.startswith(fence) and not stripped[len(fence) :].strip()
        ):
            fence = None
        elif fence is None and re.match(r"^#{1,6} ", line):
            found.append(line)
    return found


NOTEBOOKS = chapter_notebooks()
IDS = [p.relative_to(ROOT).as_posix() for p in NOTEBOOKS]
# The labs (sources and generated student editions, tests/test_labs.py) are committed
# clean too; only the student editions are pages of the book.
LAB_NOTEBOOKS = sorted(
    p for p in (ROOT / "labs").glob("**/*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
ALL_NOTEBOOKS = NOTEBOOKS + LAB_NOTEBOOKS
ALL_IDS = [p.relative_to(ROOT).as_posix() for p in ALL_NOTEBOOKS]


def load(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def test_toc_is_readable():
    entries = toc_files()
    assert entries, "no file entries found in _toc.yml"
    assert entries[0] == "intro", "the root of the book should be intro"


def test_every_toc_entry_exists():
    missing = []
    for entry in toc_files():
        candidates = [ROOT / entry] + [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")]
        if not any(c.is_file() for c in candidates):
            missing.append(entry)
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


def test_no_toc_entry_is_listed_twice():
    entries = [Path(e).with_suffix("").as_posix() for e in toc_files()]
    duplicates = sorted({e for e in entries if entries.count(e) > 1})
    assert not duplicates, f"_toc.yml lists these more than once: {duplicates}"


def test_every_chapter_notebook_is_in_the_toc():
    listed = {Path(e).with_suffix("").as_posix() for e in toc_files()}
    unlisted = [
        p.relative_to(ROOT).as_posix()
        for p in NOTEBOOKS
        if p.relative_to(ROOT).with_suffix("").as_posix() not in listed
    ]
    assert not unlisted, (
        f"notebooks missing from _toc.yml (they would be neither built nor linked): {unlisted}"
    )


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=ALL_IDS)
def test_notebook_is_valid_json_nbformat4(path: Path):
    nb = load(path)  # raises on invalid JSON
    assert nb.get("nbformat") == 4, "expected an nbformat 4 notebook"
    assert isinstance(nb.get("cells"), list) and nb["cells"], "the notebook has no cells"
    for i, cell in enumerate(nb["cells"]):
        assert cell.get("cell_type") in {"code", "markdown", "raw"}, f"cell {i}: unknown type"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=ALL_IDS)
def test_notebook_has_no_outputs(path: Path):
    dirty = []
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            dirty.append(f"cell {i} has outputs")
        if cell.get("execution_count") is not None:
            dirty.append(f"cell {i} has execution_count {cell['execution_count']}")
    assert not dirty, (
        "notebooks are committed without outputs; clear them before committing: " + "; ".join(dirty)
    )


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=ALL_IDS)
def test_notebook_kernel_is_python3(path: Path):
    metadata = load(path).get("metadata", {})
    kernelspec = metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"kernelspec is {kernelspec!r}"
    assert kernelspec.get("language", "python") == "python"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=ALL_IDS)
def test_notebook_starts_with_a_title(path: Path):
    cells = load(path)["cells"]
    markdown = [c for c in cells if c["cell_type"] == "markdown"]
    assert markdown, "the notebook has no markdown cell"
    first_line = next(
        (line.strip() for line in source(markdown[0]).splitlines() if line.strip()), ""
    )
    assert re.match(r"^# \S", first_line), (
        f"the first markdown cell should open with a level-1 title ('# ...'), got {first_line!r}"
    )
    titles = [
        line for cell in markdown for line in headings(source(cell)) if re.match(r"^# \S", line)
    ]
    assert len(titles) == 1, f"a chapter has exactly one level-1 title, found {titles}"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=ALL_IDS)
def test_notebook_has_no_bibliography_of_its_own(path: Path):
    # The book's one {bibliography} is on bibliography.md. A second one listing the same
    # work fails the strict build with "duplicate citation"; chapters only {cite}.
    offending = [
        i
        for i, cell in enumerate(load(path)["cells"])
        if cell["cell_type"] == "markdown" and re.search(r"\{bibliography\}", source(cell))
    ]
    assert not offending, (
        f"cells {offending} hold a {{bibliography}} directive; cite with {{cite}}`key` and "
        "let bibliography.md list the entries"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_states_its_run_profile(path: Path):
    # Every chapter honours REGCOURSE_PROFILE through regcourse.experiments (by_profile, or
    # the standard task, whose seeds follow it) and says on the page which profile ran it.
    code = "\n".join(
        source(c) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"
    )
    assert "profile_note(" in code, f"{path.name} does not display profile_note(...)"
    assert "by_profile(" in code or "StandardTask(" in code, f"{path.name} ignores the profile"
    # the profile is read in one place, regcourse.experiments.run_profile()
    assert "os.environ" not in code and "getenv" not in code
