"""The labs: sources with solutions, generated student editions with stubs.

A lab's source ``labs/NN_topic.ipynb`` holds the reference solutions in cells tagged
``solution``; its student edition ``labs/student/NN_topic.ipynb`` is generated from it by
``python -m regcourse.labs`` (see :mod:`regcourse.labs`). These tests check that the
generated files are current, that the stubs raise NotImplementedError, that a checker run on
a stub reports a failure instead of raising, that the references pass their checkers, and
that every lab is linked from the toc and to its chapter. They run the notebooks' code
directly (no kernel), in a few seconds; nbval executes both editions as notebooks too.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from regcourse import labs
from regcourse.check import Report

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "labs"
STUDENT = LABS / labs.STUDENT_FOLDER
SOURCES = labs.lab_sources(LABS)
STUDENT_EDITIONS = [STUDENT / path.name for path in SOURCES]
SOURCE_IDS = [path.stem for path in SOURCES]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def text(cell: dict) -> str:
    return "".join(cell["source"])


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def code_cells(path: Path) -> list[tuple[int, dict]]:
    return [(i, c) for i, c in enumerate(load(path)["cells"]) if c["cell_type"] == "code"]


def run_cells(path: Path, only_solutions: bool = False) -> tuple[dict, list[Report]]:
    """Execute a lab's code cells in order, without a kernel; return the namespace and every
    Report the cells created (a new Report object appearing in the namespace after a cell)."""
    namespace: dict = {"__name__": "__lab__"}
    reports, seen = [], set()
    for index, cell in code_cells(path):
        if only_solutions and labs.SOLUTION_TAG not in tags(cell):
            continue
        code = compile(text(cell), f"<{path.relative_to(ROOT)}, cell {index}>", "exec")
        exec(code, namespace)
        for value in list(namespace.values()):
            if isinstance(value, Report) and id(value) not in seen:
                seen.add(id(value))
                reports.append(value)
    return namespace, reports


def solution_functions(path: Path) -> dict:
    """The functions the lab's `solution` cells define, by name."""
    namespace, _ = run_cells(path, only_solutions=True)
    return {
        name: value
        for name, value in namespace.items()
        if inspect.isfunction(value) and value.__module__ == "__lab__"
    }


# --- the generated files are current ------------------------------------------------------


def test_there_are_labs():
    assert SOURCES, "no labs/*.ipynb found"


def test_student_editions_are_current(tmp_path: Path):
    written = labs.write_student_editions(LABS, tmp_path)
    stale = [
        p.name
        for p in written
        if not (STUDENT / p.name).is_file() or (STUDENT / p.name).read_bytes() != p.read_bytes()
    ]
    assert not stale, f"stale student editions {stale}: run `python -m regcourse.labs`"
    orphans = sorted({p.name for p in STUDENT.glob("*.ipynb")} - {p.name for p in SOURCES})
    assert not orphans, f"labs/student/ has editions without a source: {orphans}"


def test_check_command_passes_and_catches_a_stale_edition(tmp_path: Path, capsys):
    assert labs.main(["--check"]) == 0
    copy = tmp_path / "labs"
    shutil.copytree(LABS, copy)
    edited = copy / labs.STUDENT_FOLDER / SOURCES[0].name
    edited.write_text(edited.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert labs.main(["--check", "--labs", str(copy)]) == 1
    assert "out of date" in capsys.readouterr().err


# --- the format of a lab ------------------------------------------------------------------


@pytest.mark.parametrize("path", SOURCES, ids=SOURCE_IDS)
def test_lab_has_solutions_each_followed_by_a_check(path: Path):
    cells = load(path)["cells"]
    solutions = [i for i, c in enumerate(cells) if labs.SOLUTION_TAG in tags(c)]
    assert solutions, f"{path.name} has no cell tagged `{labs.SOLUTION_TAG}`"
    for start, end in zip(solutions, [*solutions[1:], len(cells)]):
        checks = [
            c
            for c in cells[start + 1 : end]
            if c["cell_type"] == "code" and not tags(c) and "check." in text(c)
        ]
        assert checks, f"{path.name}: no untagged check cell after solution cell {start}"
    asserts = [c for c in cells if labs.INSTRUCTOR_TAG in tags(c) and ".passed" in text(c)]
    assert asserts, f"{path.name}: no `{labs.INSTRUCTOR_TAG}` cell asserts `report.passed`"


@pytest.mark.parametrize("path", SOURCES, ids=SOURCE_IDS)
def test_lab_belongs_to_a_chapter_and_links_it(path: Path):
    number = re.match(r"^(\d\d)_", path.name)
    assert number, f"{path.name}: a lab is named NN_topic.ipynb after its chapter's number"
    chapters = sorted((ROOT / "chapters").glob(f"{number.group(1)}_*.ipynb"))
    assert len(chapters) == 1, f"{path.name}: no single chapters/{number.group(1)}_*.ipynb"
    intro = text(next(c for c in load(path)["cells"] if c["cell_type"] == "markdown"))
    assert intro.startswith(f"# Lab {int(number.group(1))}: "), intro[:60]
    # An absolute {doc} path: it resolves from labs/ and from labs/student/ alike.
    link = f"{{doc}}`/chapters/{chapters[0].stem}`"
    assert link in intro, f"{path.name}: the intro should link its chapter with {link}"


def test_student_editions_are_in_the_toc_and_sources_are_not():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    listed = [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    parts = {part["caption"]: part for part in toc["parts"]}
    assert "Labs" in parts and not parts["Labs"].get("numbered")
    in_part = [chapter["file"] for chapter in parts["Labs"]["chapters"]]
    expected = [f"labs/student/{p.stem}" for p in SOURCES]
    missing, extra = sorted(set(expected) - set(in_part)), sorted(set(in_part) - set(expected))
    assert in_part == expected, (
        "the toc part 'Labs' should list the student edition of every lab, in order: "
        f"missing {missing}, extra {extra}"
    )
    # The sources hold the solutions: with only_build_toc_files they are not pages.
    assert not [f for f in listed if re.match(r"^labs/[^/]+$", f)]
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["only_build_toc_files"] is True
    assert not [p for p in config["exclude_patterns"] if "labs" in p]


# --- the generator ------------------------------------------------------------------------


def test_stub_keeps_signature_and_docstring_and_drops_the_body():
    source = (
        "import numpy as np\n\n\n"
        "@np.vectorize\n"
        "def f(x, p=0.5):\n"
        '    """Doc.\n\n    Args:\n        x: an array.\n    """\n'
        "    y = x * p  # the answer\n"
        "    return y\n"
        "    # a trailing hint\n\n\n"
        "def g():\n"
        '    """Only a docstring."""\n'
    )
    assert labs.stub_source(source) == (
        "import numpy as np\n\n\n"
        "@np.vectorize\n"
        "def f(x, p=0.5):\n"
        '    """Doc.\n\n    Args:\n        x: an array.\n    """\n'
        '    raise NotImplementedError("write f: see the docstring")\n\n\n'
        "def g():\n"
        '    """Only a docstring."""\n'
        '    raise NotImplementedError("write g: see the docstring")\n'
    )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("import numpy as np\nx = np.ones(3)\n", "only imports and function definitions"),
        ("def f(x):\n    return x\n", "has no docstring"),
        ("import numpy as np\n", "defines no function"),
        ("%timeit f()\n", "does not parse"),
    ],
)
def test_a_bad_solution_cell_is_refused_naming_the_lab_and_cell(code: str, message: str):
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Lab 9: X"]},
            {
                "cell_type": "code",
                "id": "abc",
                "metadata": {"tags": ["solution"]},
                "source": [code],
                "outputs": [],
                "execution_count": None,
            },
        ]
    }
    with pytest.raises(ValueError, match=message) as error:
        labs.student_edition(notebook, "labs/09_x.ipynb")
    assert "labs/09_x.ipynb, cell 1 (id abc)" in str(error.value)


def test_student_edition_drops_instructor_cells_and_outputs():
    notebook = load(SOURCES[0])
    student = labs.student_edition(notebook, "labs/x.ipynb")
    assert notebook == load(SOURCES[0]), "the source notebook was changed"
    assert not [c for c in student["cells"] if labs.INSTRUCTOR_TAG in tags(c)]
    code = [c for c in student["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert student["metadata"]["regcourse"]["generated_from"] == "labs/x.ipynb"


# --- the student editions: stubs fail, and checkers say so without raising ----------------


@pytest.mark.parametrize("path", STUDENT_EDITIONS, ids=SOURCE_IDS)
def test_stubs_raise_not_implemented_and_keep_the_interface(path: Path):
    stubs = solution_functions(path)
    references = solution_functions(LABS / path.name)
    assert stubs.keys() == references.keys()
    for name, stub in stubs.items():
        assert inspect.signature(stub) == inspect.signature(references[name]), name
        assert stub.__doc__ == references[name].__doc__, name
        arguments = [None] * len(inspect.signature(stub).parameters)
        with pytest.raises(NotImplementedError, match=f"write {name}: see the docstring"):
            stub(*arguments)


@pytest.mark.parametrize("path", STUDENT_EDITIONS, ids=SOURCE_IDS)
def test_checkers_report_failure_on_the_stubs_without_raising(path: Path):
    _, reports = run_cells(path)  # an exception here fails the test
    assert reports, f"{path.name}: no check cell produced a Report"
    passed = [report.title for report in reports if report.passed]
    assert not passed, f"{path.name}: a checker passed a stub: {passed}"


@pytest.mark.parametrize("path", SOURCES, ids=SOURCE_IDS)
def test_reference_solutions_pass_their_checkers(path: Path):
    _, reports = run_cells(path)  # runs the instructor-only asserts too
    assert reports, f"{path.name}: no check cell produced a Report"
    failed = [str(report) for report in reports if not report.passed]
    assert not failed, "\n".join(failed)
