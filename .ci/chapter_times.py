#!/usr/bin/env python3
"""Print the execution time of every notebook the book shows; fail on a slow or missing run.

Usage:
    python .ci/chapter_times.py [--max-seconds 90] [--allow scoreboard=120] [--executed-by nbval]

After a build, every notebook in _toc.yml has its run in myst-nb's execution cache
(_build/.jupyter_cache), made with the current fingerprint (the regcourse sources,
requirements, Python and REGCOURSE_* settings; see _ext/notebook_runs.py): executed by
the tests (nbval) or by the build's parallel executor. This prints each notebook's time
and who ran it, slowest first, with the total, and exits 1 when a notebook has no
current run (the page would not show this code's results), or took longer than
--max-seconds (a loose guard for a noisy 2-core CI machine; the book's own target is
45 s per chapter) or than its own --allow NAME=SECONDS limit (the scoreboard, which
trains every recipe, targets 90 s). With --executed-by nbval it also fails when a
notebook was executed by anything else: in CI the build must show the tests' runs, so
that each notebook executes once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import notebook_runs  # noqa: E402


def toc_notebooks(toc: Path = ROOT / "_toc.yml") -> list[Path]:
    """The notebooks the book shows, in the order of _toc.yml."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    site_map = parse_toc_yaml(str(toc))
    paths = [ROOT / f"{docname}.ipynb" for docname in site_map]
    return [path for path in paths if path.exists()]


def limit_for(name: str, default: float, exceptions: dict[str, float]) -> float:
    return next((limit for key, limit in exceptions.items() if key in name), default)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=90.0)
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="NAME=SECONDS",
        help="a higher limit for notebooks whose name contains NAME",
    )
    parser.add_argument("--executed-by", help="fail if a run was executed by anything else")
    args = parser.parse_args()
    exceptions = {key: float(value) for key, value in (a.split("=", 1) for a in args.allow)}
    runs = notebook_runs.recorded_runs(toc_notebooks())
    if not runs:
        print("no notebook in _toc.yml")
        return 1
    names = {path: str(path.relative_to(ROOT)) for path in runs}
    width = max(len(name) for name in names.values())
    missing = [names[path] for path, run in runs.items() if run is None]
    done = {names[path]: run for path, run in runs.items() if run is not None}
    print(f"{'notebook':{width}s}  seconds  executed by")
    for name, run in sorted(done.items(), key=lambda item: -item[1].seconds):
        limit = limit_for(name, args.max_seconds, exceptions)
        flag = "  <-- over the limit" if run.seconds > limit else ""
        print(f"{name:{width}s}  {run.seconds:7.1f}  {run.executed_by}{flag}")
    total = sum(run.seconds for run in done.values())
    print(f"{'total':{width}s}  {total:7.1f}  ({len(done)} notebooks, one after another)")
    by = sorted({run.executed_by for run in done.values()})
    print(f"executed by: {', '.join(by)}")
    slow = [n for n, r in done.items() if r.seconds > limit_for(n, args.max_seconds, exceptions)]
    others = []
    if args.executed_by:
        others = [n for n, r in done.items() if r.executed_by != args.executed_by]
        if others:
            print(f"FAILED: executed by something else than {args.executed_by}: {others}")
    if missing:
        print(f"FAILED: {len(missing)} notebook(s) without a current run in the cache: {missing}")
    if slow:
        print(f"FAILED: {len(slow)} notebook(s) over their time limit: {slow}")
    return 1 if missing or slow or others else 0


if __name__ == "__main__":
    sys.exit(main())
