"""Generate the student edition of every lab from its source, which holds the solutions.

A lab's source is ``labs/NN_topic.ipynb``: markdown cells that state the exercises, code
cells tagged ``solution`` that hold ONLY imports and function definitions (each function
with a docstring and its reference body), cells that run a checker of
:mod:`regcourse.check` on those functions, and cells tagged ``instructor-only`` (for
instance ``assert report.passed, report``) that prove the reference passes.

The student edition ``labs/student/NN_topic.ipynb`` is derived from it, never edited by
hand:

- in every ``solution`` cell, each function keeps its signature and docstring, and its
  body becomes ``raise NotImplementedError("write NAME: see the docstring")``;
- cells tagged ``instructor-only`` are dropped;
- outputs and execution counts are cleared.

Regenerate every student edition with::

    python -m regcourse.labs

and check that the committed ones are current (exit status 1 if one is stale, missing or
has no source) with::

    python -m regcourse.labs --check

Notebooks are written as the chapters are: JSON indented by one space, non-ASCII
characters kept as they are, a final newline. The same source always gives the same
bytes, which is what ``--check`` and ``tests/test_labs.py`` compare.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import sys
from pathlib import Path

__all__ = [
    "INSTRUCTOR_TAG",
    "SOLUTION_TAG",
    "STUDENT_FOLDER",
    "dumps",
    "lab_sources",
    "main",
    "stale_editions",
    "stub_source",
    "student_edition",
    "write_student_editions",
]

SOLUTION_TAG = "solution"
INSTRUCTOR_TAG = "instructor-only"
STUDENT_FOLDER = "student"
LABS = Path(__file__).resolve().parent.parent / "labs"
STUB = 'raise NotImplementedError("write {name}: see the docstring")'
_ALLOWED = (ast.Import, ast.ImportFrom, ast.FunctionDef)


# ----------------------------------------------------------------------------------------------
# One solution cell


def stub_source(source: str, where: str = "a solution cell") -> str:
    """The code of a ``solution`` cell with every function body replaced by a stub.

    Each top-level function keeps its decorators, signature and docstring, and everything
    after the docstring (statements, comments, nested functions) becomes
    ``raise NotImplementedError("write NAME: see the docstring")`` at the body's
    indentation. Imports and the lines between definitions are kept as written.

    Args:
        source: the cell's code.
        where: how to name the cell in an error message, e.g. ``"labs/05_dropout.ipynb,
            cell 3"``.

    Returns:
        The student's version of the code, ending in a newline only if ``source`` did.

    Raises:
        ValueError: if the code does not parse, holds anything but imports and function
            definitions at the top level, defines no function, or has a function without
            a docstring.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"{where}: the solution cell does not parse: {exc}") from None
    for node in tree.body:
        if not isinstance(node, _ALLOWED):
            raise ValueError(
                f"{where}: a `{SOLUTION_TAG}` cell may hold only imports and function "
                f"definitions, but line {node.lineno} holds "
                f"{(ast.get_source_segment(source, node) or '')[:60]!r} "
                f"({type(node).__name__}); move it to another cell"
            )
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    if not functions:
        raise ValueError(f"{where}: a `{SOLUTION_TAG}` cell defines no function")

    lines = source.splitlines(keepends=True)
    for function in reversed(functions):  # from the bottom, so earlier line numbers hold
        if ast.get_docstring(function) is None:
            raise ValueError(
                f"{where}: function {function.name} (line {function.lineno}) has no docstring; "
                "the student edition keeps only the signature and the docstring, so write "
                "one (arguments with shapes, returns)"
            )
        docstring = function.body[0]
        first, last = docstring.end_lineno, _body_end(lines, function.end_lineno)
        indent = " " * function.body[0].col_offset
        stub = indent + STUB.format(name=function.name) + "\n"
        lines[first:last] = [stub]
    text = "".join(lines)
    return text if source.endswith("\n") else text.rstrip("\n")


def _body_end(lines: list[str], end: int) -> int:
    """The last line (1-based) of a top-level function whose last statement ends on line
    ``end``: indented comments after that statement belong to the body too."""
    for number in range(end + 1, len(lines) + 1):
        line = lines[number - 1]
        if not line.strip():
            continue
        if not line[0].isspace():
            break
        end = number
    return end


# ----------------------------------------------------------------------------------------------
# One notebook


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def student_edition(notebook: dict, name: str = "a lab") -> dict:
    """The student edition of a lab notebook (the argument is left unchanged).

    Args:
        notebook: the source lab, as loaded by ``json.load``.
        name: how to name the lab in error messages, e.g. ``"labs/05_dropout.ipynb"``.

    Returns:
        A new notebook: ``solution`` cells stubbed (see :func:`stub_source`),
        ``instructor-only`` cells dropped, outputs and execution counts cleared, and
        ``metadata.regcourse.generated_from`` naming the source.

    Raises:
        ValueError: if a ``solution`` cell is not code or holds anything but imports and
            documented function definitions; the message names the lab and the cell.
    """
    student = copy.deepcopy(notebook)
    cells = []
    for index, cell in enumerate(student["cells"]):
        tags = _tags(cell)
        if INSTRUCTOR_TAG in tags:
            continue
        where = f"{name}, cell {index}" + (f" (id {cell['id']})" if "id" in cell else "")
        if SOLUTION_TAG in tags:
            if cell["cell_type"] != "code":
                raise ValueError(f"{where}: only code cells may be tagged `{SOLUTION_TAG}`")
            cell["source"] = _lines(stub_source(_text(cell), where))
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cells.append(cell)
    student["cells"] = cells
    student.setdefault("metadata", {})["regcourse"] = {
        "generated_from": name,
        "note": "generated by `python -m regcourse.labs`: edit the source, not this file",
    }
    return student


def dumps(notebook: dict) -> str:
    """A notebook as the repository stores it: indent 1, non-ASCII kept, final newline."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------------------------
# The labs folder


def lab_sources(labs: Path = LABS) -> list[Path]:
    """The source labs, ``labs/*.ipynb``, sorted (the student folder is not searched)."""
    return sorted(path for path in Path(labs).glob("*.ipynb") if path.is_file())


def _render(source: Path, labs: Path) -> str:
    """The student edition of one source lab, as the text of its file."""
    notebook = json.loads(source.read_text(encoding="utf-8"))
    return dumps(student_edition(notebook, f"{labs.name}/{source.name}"))


def write_student_editions(labs: Path = LABS, out: Path | None = None) -> list[Path]:
    """Write the student edition of every source lab.

    Args:
        labs: the folder of the source labs.
        out: where to write them; by default ``labs/student``.

    Returns:
        The paths written, one per source lab, in the order of :func:`lab_sources`.
    """
    labs = Path(labs).resolve()
    out = Path(out) if out is not None else labs / STUDENT_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in lab_sources(labs):
        target = out / source.name
        target.write_text(_render(source, labs), encoding="utf-8")
        written.append(target)
    return written


def stale_editions(labs: Path = LABS) -> list[str]:
    """What ``--check`` reports: one line per student edition that is out of date, missing,
    or left over from a source that no longer exists. Empty when all are current."""
    labs = Path(labs).resolve()
    student = labs / STUDENT_FOLDER
    problems = []
    sources = lab_sources(labs)
    for source in sources:
        target = student / source.name
        if not target.is_file():
            problems.append(f"{target}: missing")
        elif target.read_text(encoding="utf-8") != _render(source, labs):
            problems.append(f"{target}: out of date with {source.name}")
    names = {source.name for source in sources}
    for target in sorted(student.glob("*.ipynb")):
        if target.name not in names:
            problems.append(f"{target}: no source {labs / target.name}; delete it")
    return problems


def main(argv: list[str] | None = None) -> int:
    """The command line: regenerate the student editions, or ``--check`` them."""
    parser = argparse.ArgumentParser(
        prog="python -m regcourse.labs",
        description="Generate labs/student/*.ipynb (stubs, no instructor-only cells, no "
        "outputs) from the source labs labs/*.ipynb.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit with status 1 if a student edition is not current",
    )
    parser.add_argument("--labs", type=Path, default=LABS, help="the source folder (labs/)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = stale_editions(args.labs)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                print("regenerate with: python -m regcourse.labs", file=sys.stderr)
                return 1
            print(f"{len(lab_sources(args.labs))} student editions are current")
            return 0
        for path in write_student_editions(args.labs):
            print(f"wrote {path}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
