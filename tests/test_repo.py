"""The repository's own files: pinned requirements, the book configuration."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def requirement_lines() -> list[str]:
    lines = []
    for raw in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def test_every_requirement_is_pinned_exactly():
    loose = [
        line
        for line in requirement_lines()
        if line != "-e ."
        and not re.fullmatch(
            r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+", line
        )
    ]
    assert not loose, f"requirements.txt pins every package with '==': {loose}"


def test_the_package_itself_is_installed_editable():
    assert "-e ." in requirement_lines()


def pins() -> dict[str, str]:
    result = {}
    for line in requirement_lines():
        if "==" in line:
            name, version = line.split("==", 1)
            result[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version
    return result


def test_jupyter_book_is_pinned_to_1x():
    # Jupyter Book 2 uses myst.yml and fetches its theme over the network at build time;
    # this book is built with Jupyter Book 1 (_config.yml, _toc.yml, Sphinx).
    version = pins().get("jupyter-book")
    assert version is not None, "jupyter-book is not pinned in requirements.txt"
    assert version.split(".")[0] == "1", f"jupyter-book must be 1.x, pinned {version}"


def test_the_direct_dependencies_are_pinned():
    wanted = {
        "jupyter-book",
        "sphinx-exercise",
        "sphinx-proof",
        "ipykernel",
        "numpy",
        "torch",
        "matplotlib",
        "scikit-learn",
        "pytest",
        "pytest-xdist",
        "nbval",
    }
    missing = sorted(wanted - set(pins()))
    assert not missing, f"requirements.txt does not pin: {missing}"


def test_book_configuration_files_exist():
    for name in ("_config.yml", "_toc.yml", "intro.md", "syllabus.md", "references.bib"):
        assert (ROOT / name).is_file(), f"{name} is missing"
