"""Checks on what the reader gets from the site, that need no build.

The browser test (.ci/check_browser.py) checks the built pages in Chromium; these check
the sources it is built from: code that fits the column, figures with a caption, a name
and alt text, collapsed plotting code, offline maths, the course download and the
author-year bibliography.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
LABS = sorted((ROOT / "labs").glob("**/*.ipynb"))  # sources and student editions
MAX_COLUMNS = 100

sys.path.insert(0, str(ROOT / "_ext"))
import regcourse_book  # noqa: E402


def code_cells(path: Path) -> list[dict]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def long_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if len(line) > MAX_COLUMNS]


# --- code fits the column ---------------------------------------------------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_code_lines_fit_the_column(path: Path):
    too_long = [line for cell in code_cells(path) for line in long_lines(source(cell))]
    assert not too_long, f"{len(too_long)} code lines over {MAX_COLUMNS} columns: {too_long[:3]}"


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_lab_code_lines_fit_the_column(path: Path):
    too_long = [line for cell in code_cells(path) for line in long_lines(source(cell))]
    assert not too_long, f"{len(too_long)} code lines over {MAX_COLUMNS} columns: {too_long[:3]}"


def test_package_and_tooling_lines_fit_the_column():
    files = [
        *(ROOT / "regcourse").rglob("*.py"),
        *(ROOT / "_ext").glob("*.py"),
        *(ROOT / ".ci").glob("*.py"),
        *(ROOT / "tests").glob("*.py"),
    ]
    too_long = {
        str(f.relative_to(ROOT)): len(long_lines(f.read_text(encoding="utf-8")))
        for f in files
        if long_lines(f.read_text(encoding="utf-8"))
    }
    assert not too_long, f"files with lines over {MAX_COLUMNS} columns: {too_long}"


# --- figures ------------------------------------------------------------------------------


def figure_cells(path: Path) -> list[dict]:
    return [cell for cell in code_cells(path) if "plt.show()" in source(cell)]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_has_caption_name_alt_and_collapsed_code(path: Path):
    for cell in figure_cells(path):
        where = f"{path.stem}, cell starting {source(cell)[:60]!r}"
        assert source(cell).count("plt.show()") == 1, f"one figure per cell: {where}"
        assert "hide-input" in cell["metadata"].get("tags", []), f"plotting code open: {where}"
        mystnb = cell["metadata"].get("mystnb", {})
        figure, image = mystnb.get("figure", {}), mystnb.get("image", {})
        assert len(figure.get("caption", "")) > 20, f"no caption: {where}"
        assert figure.get("name", "").startswith("fig-"), f"no figure name: {where}"
        alt = image.get("alt", "")
        assert len(alt) > 20 and "$" not in alt, f"no plain-text alt text: {where}"


def test_figure_names_are_unique_across_the_book():
    names = [
        cell["metadata"]["mystnb"]["figure"]["name"]
        for path in CHAPTERS
        for cell in figure_cells(path)
        if "name" in cell["metadata"].get("mystnb", {}).get("figure", {})
    ]
    assert names and len(names) == len(set(names))


# --- configuration -----------------------------------------------------------------------


def book_config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def test_mathjax_is_served_by_the_site():
    mathjax_path = book_config()["sphinx"]["config"]["mathjax_path"]
    assert not mathjax_path.startswith(("http:", "https:", "//"))
    assert (regcourse_book._mathjax_folder() / mathjax_path.removeprefix("mathjax/")).is_file()


def test_no_javascript_in_the_source_static_folder():
    # Jupyter Book adds every .js file under _static/ to every page.
    assert not list((ROOT / "_static").rglob("*.js"))


def test_chapters_are_numbered_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc["parts"]:
        files = [chapter["file"] for chapter in part["chapters"]]
        if any(name.startswith("chapters/") for name in files):
            assert part.get("numbered") is True, part["caption"]


# --- the course download -----------------------------------------------------------------


class FakeBuilder:
    format = "html"


class FakeApp:
    def __init__(self, outdir: Path):
        self.srcdir, self.outdir, self.builder = str(ROOT), str(outdir), FakeBuilder()


def test_course_archive_holds_what_a_chapter_needs(tmp_path: Path):
    regcourse_book.write_course_archive(FakeApp(tmp_path), None)
    with zipfile.ZipFile(tmp_path / regcourse_book.ARCHIVE) as archive:
        names = archive.namelist()
        how_to = archive.read("regcourse-course/HOW_TO_RUN.md").decode()
    for needed in (
        "requirements.txt",
        "pyproject.toml",
        "regcourse/__init__.py",
        "regcourse/numpy/dropout.py",
        "chapters/05_dropout.ipynb",
    ):
        assert f"regcourse-course/{needed}" in names
    student_labs = sorted((ROOT / "labs" / "student").glob("*.ipynb"))
    assert len([n for n in names if n.endswith(".ipynb")]) == len(CHAPTERS) + len(student_labs)
    assert not [n for n in names if n.startswith("regcourse-course/labs/") and "/student/" not in n]
    assert not [n for n in names if "__pycache__" in n or ".egg-info" in n]
    assert "pip install -r requirements.txt" in how_to


def test_no_archive_when_the_build_failed(tmp_path: Path):
    regcourse_book.write_course_archive(FakeApp(tmp_path), RuntimeError("build failed"))
    assert not (tmp_path / regcourse_book.ARCHIVE).exists()


# --- author-year bibliography ------------------------------------------------------------


def entry(authors: list[str], year: str = "2014"):
    from pybtex.database import Entry, Person

    return Entry(
        "article",
        fields={"title": "T", "year": year},
        persons={"author": [Person(name) for name in authors]},
    )


@pytest.mark.parametrize(
    ("authors", "label"),
    [
        (["Bishop, Christopher M."], "Bishop, 2014"),
        (["Ba, Jimmy", "Kiros, Jamie"], "Ba and Kiros, 2014"),
        (["Srivastava, Nitish", "Hinton, Geoffrey", "Krizhevsky, Alex"], "Srivastava et al., 2014"),
        (["van der Maaten, Laurens", "Hinton, Geoffrey"], "van der Maaten and Hinton, 2014"),
    ],
)
def test_bibliography_labels_are_author_year(authors, label):
    assert regcourse_book.AuthorYearLabelStyle().format_label(entry(authors)) == label
