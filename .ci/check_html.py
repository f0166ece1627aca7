#!/usr/bin/env python3
"""Check the built book: every chapter has its figures, no page shows an error.

Usage:
    python .ci/check_html.py [--html-dir _build/html] [--source-dir .] [NAME=MIN ...]

For every notebook chapters/NAME.ipynb there must be a page
<html-dir>/chapters/NAME.html with at least MIN figures: <img> tags whose src is an SVG or
PNG file that exists in the built site (myst-nb writes the figures that executed cells
produce into _images/). MIN is 1 unless given as NAME=MIN on the command line (or in
DEFAULT_MIN_FIGURES below). A broken image (src pointing at no file) is an error.

Every page of the site is also scanned for cell outputs that a reader should never
see: stderr streams, tracebacks, and the text repr of a matplotlib object (a plot
cell that forgot `plt.show()` or `;`). Cells tagged `raises-exception` are exempt:
they exist to show an error on purpose.

Exits 0 when everything holds, 1 otherwise, listing every problem found.
"""

from __future__ import annotations

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_MIN_FIGURES = {"01_overfitting": 4}

# Text that must not appear in a cell's output (outside raises-exception cells).
FORBIDDEN_OUTPUT_TEXT = (
    "Traceback (most recent call last)",
    "<Figure size",
    "<matplotlib.",
)
# Classes myst-nb gives to output blocks that must not appear (outside raises-exception).
FORBIDDEN_OUTPUT_CLASSES = ("stderr", "traceback", "error")


class PageScanner(HTMLParser):
    """Collects <img> sources and the problems in cell outputs of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.img_srcs: list[str] = []
        self.problems: list[str] = []
        self._divs: list[set[str]] = []  # classes of the open <div>s, outermost first
        self._output_text: list[str] | None = None  # text of the open cell_output
        self._output_depth = -1

    def _exempt(self) -> bool:
        return any("tag_raises-exception" in classes for classes in self._divs)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "img":
            self.img_srcs.append(attributes.get("src") or "")
            return
        if tag != "div":
            return
        classes = set((attributes.get("class") or "").split())
        self._divs.append(classes)
        if "cell_output" in classes and self._output_text is None:
            self._output_text = []
            self._output_depth = len(self._divs)
        if "output" in classes and not self._exempt():
            bad = classes.intersection(FORBIDDEN_OUTPUT_CLASSES)
            if bad:
                self.problems.append(
                    f"a cell output of kind {sorted(bad)} is shown "
                    f"(div class={' '.join(sorted(classes))!r})"
                )

    def handle_endtag(self, tag: str) -> None:
        if tag != "div" or not self._divs:
            return
        if self._output_text is not None and len(self._divs) == self._output_depth:
            text = "".join(self._output_text)
            if not self._exempt():
                for needle in FORBIDDEN_OUTPUT_TEXT:
                    if needle in text:
                        at = text.index(needle)
                        snippet = " ".join(text[at : at + 80].split())
                        self.problems.append(f"a cell output shows {snippet!r}")
            self._output_text = None
            self._output_depth = -1
        self._divs.pop()

    def handle_data(self, data: str) -> None:
        if self._output_text is not None:
            self._output_text.append(data)


def scan(page: Path) -> PageScanner:
    scanner = PageScanner()
    scanner.feed(page.read_text(encoding="utf-8"))
    scanner.close()
    return scanner


def count_figures(page: Path, scanner: PageScanner, html_dir: Path) -> tuple[int, list[str]]:
    """Number of <img> whose src is an existing SVG or PNG inside html_dir; broken srcs."""
    found, broken = 0, []
    root = html_dir.resolve()
    for src in scanner.img_srcs:
        parts = urlsplit(src)
        if parts.scheme or parts.netloc or not parts.path:
            continue  # external or data: images are not figures of ours
        target = (page.parent / unquote(parts.path)).resolve()
        if not target.is_file() or root not in target.parents:
            broken.append(src)
        elif target.suffix.lower() in (".svg", ".png"):
            found += 1
    return found, broken


def parse_minimums(pairs: list[str]) -> dict[str, int]:
    minimums = dict(DEFAULT_MIN_FIGURES)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not value.isdigit():
            raise SystemExit(f"check_html: expected NAME=MIN, got {pair!r}")
        minimums[Path(name).stem] = int(value)
    return minimums


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html-dir", type=Path, default=Path("_build/html"))
    parser.add_argument("--source-dir", type=Path, default=Path("."))
    parser.add_argument(
        "minimums", nargs="*", metavar="NAME=MIN", help="minimum number of figures for chapter NAME"
    )
    args = parser.parse_args(argv)
    html_dir: Path = args.html_dir
    minimums = parse_minimums(args.minimums)
    problems: list[str] = []

    if not (html_dir / "index.html").is_file():
        print(f"check_html: no built site at {html_dir} (index.html missing)")
        return 1

    # Every chapter notebook has a page; every chapter page has its figures.
    sources = sorted((args.source_dir / "chapters").glob("**/*.ipynb"))
    sources = [s for s in sources if ".ipynb_checkpoints" not in s.parts]
    names = {
        s.relative_to(args.source_dir / "chapters").with_suffix("").as_posix() for s in sources
    }
    pages = {
        p.relative_to(html_dir / "chapters").with_suffix("").as_posix()
        for p in (html_dir / "chapters").glob("**/*.html")
    }
    for name in sorted(names - pages):
        problems.append(f"chapters/{name}.ipynb has no built page chapters/{name}.html")
    for name in sorted(set(minimums) - names - pages):
        problems.append(f"a minimum was given for chapter {name!r}, which does not exist")

    for name in sorted(pages):
        page = html_dir / "chapters" / f"{name}.html"
        scanner = scan(page)
        figures, broken = count_figures(page, scanner, html_dir)
        wanted = minimums.get(name, minimums.get(Path(name).name, 1))
        status = "ok" if figures >= wanted and not broken else "FAIL"
        print(
            f"  {status:4}  chapters/{name}.html: {figures} figure(s), at least {wanted} required"
        )
        if figures < wanted:
            problems.append(f"chapters/{name}.html has {figures} figure(s), fewer than {wanted}")
        for src in broken:
            problems.append(f"chapters/{name}.html: image {src!r} points at no file in the site")

    # No page of the site shows stderr, a traceback or a figure's repr.
    all_pages = sorted(p for p in html_dir.glob("**/*.html") if "_static" not in p.parts)
    for page in all_pages:
        for problem in scan(page).problems:
            problems.append(f"{page.relative_to(html_dir)}: {problem}")
    print(f"  scanned {len(all_pages)} page(s) for stderr, tracebacks and figure reprs")

    if problems:
        print(f"check_html: {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("check_html: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
