#!/usr/bin/env python3
"""Check the book's PDF: complete, with its maths, figures and tables.

Usage:
    python .ci/check_pdf.py _build/latex/regcourse.pdf [--pages-dir _build/pdf_pages]

Checks, with poppler's command-line tools (pdfinfo, pdftotext, pdffonts, pdfimages,
pdftoppm):

- the page count is plausible for the book (at least MIN_PAGES);
- every chapter's title (the first heading of each notebook in chapters/) is in the text;
- maths is typeset: math fonts are embedded and numbered equations such as "(2.1)"
  appear, and no display-maths delimiter ($$) is left in the text;
- every figure is there: at least as many images as the chapters have figure cells;
- every chapter's "Claims checked" table is there (its header, once per chapter);
- LaTeX's log shows no undefined reference and no missing character (a glyph the
  font lacks prints as nothing);
- chapters are numbered as on the web site (chapters/05_dropout opens "Chapter five");
- a few pages (the title page, the first page of chapters 2 and 5, the first claims
  table) are rendered to PNG under --pages-dir, and none of them is blank.

Exits 0 when everything holds, 1 otherwise, listing every problem found.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MIN_PAGES = 150
CLAIMS_HEADER = "Measured here"
MATH_FONT_HINTS = ("math", "cmmi", "cmsy", "cmex")


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def chapter_titles() -> dict[str, str]:
    """{notebook stem: the text of its first '# ' heading}."""
    titles = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for line in "".join(cells[0]["source"]).splitlines():
            if line.startswith("# "):
                titles[path.stem] = line[2:].strip()
                break
    return titles


def figure_cell_count() -> int:
    count = 0
    for path in (ROOT / "chapters").glob("*.ipynb"):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        count += sum(
            "plt.show()" in "".join(c["source"]) for c in cells if c["cell_type"] == "code"
        )
    return count


def claims_table_count() -> int:
    """How many chapters render a claims table (call regcourse's claims_table)."""
    return sum(
        "claims_table(" in path.read_text(encoding="utf-8")
        for path in (ROOT / "chapters").glob("*.ipynb")
    )


def normalize(text: str) -> str:
    """Lower-case, hyphenation at line ends undone, all whitespace one space."""
    text = re.sub(r"-\n(?=[a-z])", "", text)
    return re.sub(r"\s+", " ", text).lower()


NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve "
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"
).split()


def first_page_with(pages: list[str], needle: str) -> int | None:
    for number, page in enumerate(pages):
        if needle.lower() in normalize(page):
            return number
    return None


def chapter_page(pages: list[str], title: str) -> tuple[int | None, str]:
    """The page that opens a chapter ("CHAPTER / FIVE / DROPOUT"), and its number word."""
    for number, page in enumerate(pages):
        words = normalize(page).split(" ", 2)
        if len(words) == 3 and words[0] == "chapter" and words[2].startswith(normalize(title)):
            return number, words[1]
    return None, ""


def render(pdf: Path, page_index: int, target: Path) -> float:
    """Render one page (0-based) to PNG; return the fraction of non-white pixels."""
    prefix = target.with_suffix("")
    run(
        "pdftoppm",
        "-png",
        "-r",
        "60",
        "-singlefile",
        "-f",
        str(page_index + 1),
        "-l",
        str(page_index + 1),
        str(pdf),
        str(prefix),
    )
    pixels = np.asarray(Image.open(target).convert("L"), dtype=np.float64)
    return float((pixels < 200).mean())


def latex_log_problems(log: Path) -> list[str]:
    """Undefined references and missing characters reported in LaTeX's final log."""
    if not log.is_file():
        return [f"no LaTeX log next to the PDF ({log.name})"]
    text = log.read_text(encoding="utf-8", errors="replace")
    problems = []
    if "There were undefined references" in text:
        problems.append("LaTeX reports undefined references (see the .log)")
    missing = sorted(set(re.findall(r"Missing character: There is no (\S+) \(U\+(\w+)\)", text)))
    for char, code in missing:
        problems.append(f"the PDF's fonts lack {char} (U+{code}): it prints as nothing")
    print(f"LaTeX log: {len(problems)} problem(s)")
    return problems


def check(pdf: Path, pages_dir: Path) -> list[str]:
    problems = []
    n_pages = int(re.search(r"Pages:\s+(\d+)", run("pdfinfo", str(pdf))).group(1))
    print(f"pages: {n_pages}")
    if n_pages < MIN_PAGES:
        problems.append(f"only {n_pages} pages (expected at least {MIN_PAGES})")

    problems += latex_log_problems(pdf.with_suffix(".log"))

    text = run("pdftotext", "-enc", "UTF-8", str(pdf), "-")
    pages = text.split("\f")
    flat = normalize(text)
    titles = chapter_titles()
    missing = [title for title in titles.values() if normalize(title) not in flat]
    print(f"chapter titles found: {len(titles) - len(missing)} of {len(titles)}")
    problems += [f"chapter title missing from the PDF: {title!r}" for title in missing]

    fonts = run("pdffonts", str(pdf)).lower()
    if not any(hint in fonts for hint in MATH_FONT_HINTS):
        problems.append("no math font embedded: is the maths typeset?")
    equation_numbers = set(re.findall(r"\((\d{1,2}\.\d{1,2})\)", text))
    print(f"numbered equations seen: {len(equation_numbers)}")
    if not equation_numbers:
        problems.append("no numbered equation like (2.1) in the text")
    if "$$" in text:
        problems.append("a display-maths delimiter $$ is left in the text")

    images = len(run("pdfimages", "-list", str(pdf)).splitlines()) - 2
    figures = figure_cell_count()
    print(f"images: {images} (figure cells in the chapters: {figures})")
    if images < figures:
        problems.append(f"{images} images for {figures} figures")

    claims_tables = flat.count(CLAIMS_HEADER.lower())
    expected = claims_table_count()
    print(f"claims tables: {claims_tables} (chapters that build one: {expected})")
    if claims_tables < expected:
        problems.append(f"{claims_tables} claims tables for {expected} chapters")

    # Chapters are numbered as on the web site: chapters/05_dropout is chapter five.
    opening_pages = {}
    for stem, title in titles.items():
        page, word = chapter_page(pages, title)
        opening_pages[stem] = page
        expected = NUMBER_WORDS[int(stem[:2])] if stem[:2].isdigit() else None
        if page is None:
            problems.append(f"no chapter opening page for {title!r}")
        elif expected and word != expected:
            problems.append(f"{title!r} is chapter {word!r} in the PDF, {expected!r} on the site")

    pages_dir.mkdir(parents=True, exist_ok=True)
    claims = first_page_with(pages, CLAIMS_HEADER)
    for name, index in (
        ("title", 0),
        ("chapter-02", opening_pages.get("02_l2_weight_decay")),
        ("chapter-05", opening_pages.get("05_dropout")),
        ("claims-table", claims),
    ):
        if index is None:
            problems.append(f"could not find the page for {name}")
            continue
        ink = render(pdf, index, pages_dir / f"{name}.png")
        print(f"rendered {name} (page {index + 1}): {ink:.1%} of the page inked")
        if ink < 0.005:
            problems.append(f"page {index + 1} ({name}) renders blank")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--pages-dir", type=Path, default=ROOT / "_build" / "pdf_pages")
    args = parser.parse_args()
    if not args.pdf.is_file():
        print(f"no PDF at {args.pdf}")
        return 1
    problems = check(args.pdf, args.pages_dir)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("PDF check " + ("FAILED" if problems else "passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
