"""Execute the book's notebooks once, in parallel, and keep each run for the build to show.

Every page of the book is produced by executing its notebook: the figures and the
numbers are this run's. Executing the chapters one after another takes longer than
the book's 5-minute budget on 2 cores, and CI used to execute each of them twice:
once in the tests (nbval) and once in the build. This module fixes both.

- **The cache.** Executed notebooks are kept in myst-nb's execution cache
  (jupyter-cache, in ``_build/.jupyter_cache``): a record there is the notebook with
  its outputs. The book builds with ``execute_notebooks: cache``, so myst-nb shows a
  notebook's cached outputs when its code cells are unchanged, and executes it itself
  otherwise.
- **The fingerprint.** A cached run is only as good as the code it ran: a run made
  before a change to ``regcourse``, to ``requirements.txt``, to the Python version or
  to a ``REGCOURSE_*`` setting (the run profile, the device) is stale. Every record
  this module writes carries :func:`fingerprint` of all of these, and the build treats
  a record with another fingerprint as missing.
- **Parallel execution** (:func:`execute_in_parallel`): before Sphinx reads the pages,
  ``_ext/regcourse_book.py`` executes every notebook that has no valid record, in a
  pool of processes, one per core (``REGCOURSE_BUILD_JOBS`` overrides), exactly as
  myst-nb would (same executor, working directory, timeout and error handling), and
  caches each run. A notebook whose cell fails stops the build with the cell's
  traceback.
- **Reusing the test run** (:func:`install_nbval_recorder`): the tests execute every
  notebook cell by cell through nbval. The repository's ``conftest.py`` records the
  outputs of each cell as nbval receives them from the kernel, and when every cell of
  a notebook has passed, saves the executed notebook in ``_build/.notebook_runs/``.
  The next build moves those runs into the cache (:func:`import_saved_runs`) if their
  fingerprint is current. So in CI each notebook executes once, in the tests, and the
  build shows that run. A notebook with a failing or skipped cell is not saved: the
  build executes it again itself (and fails on the same cell).
"""

from __future__ import annotations

import copy
import hashlib
import os
import sys
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

#: Where myst-nb's execution cache lives (one for every build: site, editions, PDF).
CACHE_DIR = ROOT / "_build" / ".jupyter_cache"

#: Where the tests save the notebooks nbval executed, for the next build to take.
SAVED_RUNS_DIR = ROOT / "_build" / ".notebook_runs"

#: The settings that do not change what a notebook computes (only how a page is shown).
NOT_IN_FINGERPRINT = ("REGCOURSE_EDITION", "REGCOURSE_BUILD_JOBS", "REGCOURSE_SAVE_RUNS")


# ---------------------------------------------------------------------------
# What a run depends on
# ---------------------------------------------------------------------------


def _files_in_fingerprint(root: Path) -> list[Path]:
    package = sorted((root / "regcourse").rglob("*.py"))
    return package + [root / "requirements.txt", root / "pyproject.toml"]


def regcourse_settings() -> dict[str, str]:
    """The ``REGCOURSE_*`` environment variables that change results (profile, device)."""
    return {
        name: value
        for name, value in sorted(os.environ.items())
        if name.startswith("REGCOURSE_") and name not in NOT_IN_FINGERPRINT
    }


def fingerprint(root: Path = ROOT) -> str:
    """A hash of everything a chapter's run depends on besides the notebook itself.

    The ``regcourse`` sources, ``requirements.txt`` and ``pyproject.toml``, the Python
    version and platform, and the ``REGCOURSE_*`` settings. Two runs of the same
    notebook with the same fingerprint compute the same thing (the runs are seeded:
    ``tests/test_fit.py`` checks that a seed gives bit-identical results).
    """
    digest = hashlib.sha256()
    for path in _files_in_fingerprint(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    digest.update(sys.version.encode())
    digest.update(sys.platform.encode())
    digest.update(repr(regcourse_settings()).encode())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------


def open_cache(path: Path | None = None):
    """myst-nb's execution cache (``CACHE_DIR`` unless ``path`` is given)."""
    from jupyter_cache import get_cache

    path = Path(CACHE_DIR if path is None else path)
    path.mkdir(parents=True, exist_ok=True)
    return get_cache(str(path))


def read_notebook(path: Path):
    """The notebook as myst-nb reads it (nbformat 4), so that the cache keys agree."""
    return nbformat.read(str(path), as_version=4)


def valid_record(cache, notebook, current: str):
    """The cache record of ``notebook``'s code if it was run with fingerprint ``current``.

    ``None`` when there is none; a record made with another fingerprint is removed.
    """
    try:
        record = cache.match_cache_notebook(notebook)
    except KeyError:
        return None
    if record.data.get("fingerprint") == current:
        return record
    cache.remove_cache(record.pk)
    return None


def store_run(cache, notebook, path: Path, seconds: float, executed_by: str, current: str):
    """Put one executed notebook in the cache, replacing any older run of the same code."""
    from jupyter_cache.base import CacheBundleIn

    data = {"execution_seconds": seconds, "fingerprint": current, "executed_by": executed_by}
    return cache.cache_notebook_bundle(
        CacheBundleIn(notebook, str(path), data=data), check_validity=False, overwrite=True
    )


@dataclass(frozen=True)
class RecordedRun:
    """One notebook's run in the cache: how long it took and who executed it."""

    path: str
    seconds: float
    executed_by: str


def recorded_runs(notebooks: Iterable[Path], cache_dir: Path | None = None) -> dict:
    """{notebook: RecordedRun or None}: the valid runs the build will show."""
    cache = open_cache(cache_dir)
    current = fingerprint()
    runs = {}
    for path in notebooks:
        try:
            record = cache.match_cache_notebook(read_notebook(path))
        except KeyError:
            record = None
        if record is None or record.data.get("fingerprint") != current:
            runs[path] = None
            continue
        runs[path] = RecordedRun(
            str(path),
            float(record.data.get("execution_seconds") or 0.0),
            record.data.get("executed_by", "?"),
        )
    return runs


# ---------------------------------------------------------------------------
# Parallel execution
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    """The outcome of executing one notebook in a worker process."""

    path: str
    notebook_json: str
    seconds: float
    error: str | None


def execute_one(path: str, timeout: int, allow_errors: bool) -> Execution:
    """Execute one notebook as myst-nb does: jupyter-cache's executor, in its folder."""
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = read_notebook(Path(path))
    try:
        result = single_nb_execution(
            notebook,
            cwd=str(Path(path).parent),
            timeout=timeout,
            allow_errors=allow_errors,
            meta_override=True,
        )
    except Exception:  # a kernel that would not start, say: report it like a cell error
        return Execution(path, "", 0.0, traceback.format_exc())
    # nbclient's error names the failing cell, shows its source and the kernel's traceback
    error = None if result.err is None else f"{type(result.err).__name__}: {result.err}"
    return Execution(path, nbformat.writes(result.nb), result.time, error)


def default_jobs() -> int:
    """``REGCOURSE_BUILD_JOBS`` if set, else the number of cores this process may use."""
    requested = os.environ.get("REGCOURSE_BUILD_JOBS", "").strip()
    if requested:
        if not requested.isdigit() or int(requested) < 1:
            raise ValueError(f"REGCOURSE_BUILD_JOBS must be a positive integer, got {requested!r}")
        return int(requested)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def execute_in_parallel(
    paths: list[Path],
    timeout: int,
    allow_errors: bool = False,
    jobs: int | None = None,
    expected_seconds: dict | None = None,
    report=print,
):
    """Execute ``paths`` in a pool of ``jobs`` processes; yield each :class:`Execution`.

    The longest notebooks (by ``expected_seconds``, e.g. their last run) start first,
    so that the pool does not end waiting on one long notebook started last.
    """
    jobs = default_jobs() if jobs is None else jobs
    expected_seconds = expected_seconds or {}
    order = sorted(paths, key=lambda p: -expected_seconds.get(str(p), 60.0))
    report(f"executing {len(order)} notebook(s) in {min(jobs, len(order))} process(es)")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(execute_one, str(p), timeout, allow_errors) for p in order]
        for future in futures:
            yield future.result()


def last_known_seconds(cache) -> dict:
    """{notebook path: execution seconds of its latest cached run}, stale runs included."""
    times = {}
    for record in sorted(cache.list_cache_records(), key=lambda r: r.created):
        seconds = record.data.get("execution_seconds")
        if seconds:
            times[record.uri] = float(seconds)
    return times


# ---------------------------------------------------------------------------
# Runs saved by the tests (nbval)
# ---------------------------------------------------------------------------

#: The key, in a saved notebook's metadata, of how and with what it was run.
RUN_METADATA = "regcourse_run"


def import_saved_runs(cache, current: str, folder: Path | None = None, report=print) -> int:
    """Move the notebooks the tests executed into the cache; return how many were taken.

    A saved run is taken only if its fingerprint is ``current``; either way the file is
    removed, so that each test run's notebooks are used by the next build only.
    """
    folder = Path(SAVED_RUNS_DIR if folder is None else folder)
    taken, stale = 0, 0
    for saved in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        notebook = nbformat.read(str(saved), as_version=4)
        run = notebook.metadata.pop(RUN_METADATA, {})
        if run.get("fingerprint") == current:
            store_run(cache, notebook, Path(run["path"]), run["seconds"], "nbval", current)
            taken += 1
        else:
            stale += 1
        saved.unlink()
    if taken or stale:
        report(
            f"runs saved by the tests (nbval): {taken} taken into the cache, {stale} "
            "discarded (made before a change to regcourse, the requirements or settings)"
        )
    return taken


def _kernel_outputs(messages: list[dict], msg_id: str) -> list:
    """A cell's outputs from the kernel's iopub messages, as nbclient assembles them."""
    outputs, clear_before_next = [], False
    for message in messages:
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind = message["msg_type"]
        if kind == "clear_output":
            if message["content"].get("wait"):
                clear_before_next = True
            else:
                outputs = []
            continue
        if kind not in ("stream", "display_data", "execute_result", "error"):
            continue
        if clear_before_next:
            outputs, clear_before_next = [], False
        outputs.append(nbformat.v4.output_from_msg(message))
    return outputs


def install_nbval_recorder(root: Path = ROOT, folder: Path | None = None) -> None:
    """Make nbval keep what it executes: every passed notebook is saved in ``folder``.

    nbval reads each kernel message with ``IPyNbFile.get_kernel_message`` and sends a
    cell with ``RunningKernel.execute_cell_input``; the wrappers below remember those
    messages and the id of the cell's request, and turn them into the cell's outputs
    the way nbclient does (``nbformat.v4.output_from_msg``), once the cell has passed.
    """
    from nbval import kernel as nbval_kernel
    from nbval import plugin as nbval_plugin

    File, Cell, Kernel = nbval_plugin.IPyNbFile, nbval_plugin.IPyNbCell, nbval_kernel.RunningKernel
    if getattr(File, "_regcourse_recording", False):
        return
    File._regcourse_recording = True
    current = fingerprint(root)
    folder = Path(SAVED_RUNS_DIR if folder is None else folder)

    original_execute = Kernel.execute_cell_input

    def execute_cell_input(self, cell_input, allow_stdin=None):
        msg_id = original_execute(self, cell_input, allow_stdin)
        self._regcourse_msg_id = msg_id
        return msg_id

    original_get = File.get_kernel_message

    def get_kernel_message(self, timeout=None, stream="iopub"):
        message = original_get(self, timeout=timeout, stream=stream)
        if stream == "iopub":
            self._regcourse_messages.append(message)
        return message

    original_setup = File.setup

    def setup(self):
        self._regcourse_messages, self._regcourse_outputs = [], {}
        self._regcourse_started = time.perf_counter()
        original_setup(self)

    original_runtest = Cell.runtest

    def runtest(self):
        file = self.parent
        file._regcourse_messages = []
        try:
            original_runtest(self)
        except BaseException:
            file._regcourse_outputs = None  # a failed or skipped cell: nothing to save
            raise
        if file._regcourse_outputs is not None:
            msg_id = getattr(file.kernel, "_regcourse_msg_id", None)
            outputs = _kernel_outputs(file._regcourse_messages, msg_id)
            file._regcourse_outputs[self.cell_num] = outputs

    original_teardown = File.teardown

    def teardown(self):
        seconds = time.perf_counter() - getattr(self, "_regcourse_started", time.perf_counter())
        original_teardown(self)
        outputs = getattr(self, "_regcourse_outputs", None)
        if outputs is not None:
            # the notebook as nbval read it when it collected the cells (the file may
            # have been edited since): its code is what ran
            _save_run(self.nb, Path(str(self.fspath)), outputs, seconds, current, folder)

    Kernel.execute_cell_input = execute_cell_input
    File.get_kernel_message = get_kernel_message
    File.setup = setup
    Cell.runtest = runtest
    File.teardown = teardown


def _save_run(source, path: Path, outputs: dict, seconds: float, current: str, folder: Path):
    """Write the notebook nbval ran, with the outputs it recorded, if every cell has some."""
    notebook = copy.deepcopy(source)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if len(outputs) != len(code_cells):
        return  # some cell was not run (nbval collects code cells only, in order)
    for count, (cell, cell_num) in enumerate(zip(code_cells, sorted(outputs)), start=1):
        cell.outputs = outputs[cell_num]
        cell.execution_count = count
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = count
    notebook.metadata[RUN_METADATA] = {
        "path": str(path.resolve()),
        "seconds": round(seconds, 3),
        "fingerprint": current,
    }
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12] + "-" + path.name
    temporary = folder / (name + ".part")
    nbformat.write(notebook, str(temporary))
    temporary.replace(folder / name)
