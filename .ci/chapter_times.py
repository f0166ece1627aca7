#!/usr/bin/env python3
"""Print each notebook's execution time from a Jupyter Book build log; fail on a slow one.

Usage:
    python .ci/chapter_times.py _build/build.log [--max-seconds 90]

myst-nb logs one line per executed notebook ("<path>: Executed notebook in 12.34
seconds"). This prints them as a table, slowest first, with the total, and exits 1 when
a notebook took longer than --max-seconds (a loose guard for a noisy 2-core CI machine;
the book's own target is 45 s per chapter) or than its own --allow NAME=SECONDS limit
(the scoreboard, which trains every recipe, targets 90 s), or when the log holds no
such line at all.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

LINE = re.compile(r"(?P<path>\S+\.ipynb): Executed notebook in (?P<seconds>[0-9.]+) seconds")


def short_name(path: str) -> str:
    """chapters/NN_x.ipynb or labs/..., whatever folder the book was built from."""
    for folder in ("chapters/", "labs/"):
        if folder in path:
            return folder + path.split(folder, 1)[1]
    return path


def notebook_times(log: str) -> dict[str, float]:
    """{notebook path relative to the book: seconds}, from the build log's text."""
    return {short_name(m["path"]): float(m["seconds"]) for m in LINE.finditer(log)}


def limit_for(name: str, default: float, exceptions: dict[str, float]) -> float:
    return next((limit for key, limit in exceptions.items() if key in name), default)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--max-seconds", type=float, default=90.0)
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="NAME=SECONDS",
        help="a higher limit for notebooks whose name contains NAME",
    )
    args = parser.parse_args()
    exceptions = {key: float(value) for key, value in (a.split("=", 1) for a in args.allow)}
    times = notebook_times(args.log.read_text(encoding="utf-8", errors="replace"))
    if not times:
        print(f"no 'Executed notebook' line in {args.log}: was anything executed?")
        return 1
    width = max(len(name) for name in times)
    print(f"{'notebook':{width}s}  seconds")
    for name, seconds in sorted(times.items(), key=lambda item: -item[1]):
        limit = limit_for(name, args.max_seconds, exceptions)
        flag = "  <-- over the limit" if seconds > limit else ""
        print(f"{name:{width}s}  {seconds:7.1f}{flag}")
    print(f"{'total':{width}s}  {sum(times.values()):7.1f}  ({len(times)} notebooks)")
    slow = [n for n, t in times.items() if t > limit_for(n, args.max_seconds, exceptions)]
    if slow:
        print(f"FAILED: {len(slow)} notebook(s) over their time limit: {slow}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
