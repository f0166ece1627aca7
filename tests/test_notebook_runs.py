"""The book's execution: notebooks run once, in parallel, and only current runs are shown.

Checks _ext/notebook_runs.py (the cache fingerprint, the parallel executor, the runs nbval
saves) and the build hook in _ext/regcourse_book.py, on tiny notebooks in a temporary
folder.
"""

import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import notebook_runs  # noqa: E402


def write_notebook(path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, str(path))
    return path


# ---------------------------------------------------------------------------
# The fingerprint
# ---------------------------------------------------------------------------


def fake_repository(tmp_path: Path) -> Path:
    (tmp_path / "regcourse").mkdir()
    (tmp_path / "regcourse" / "layers.py").write_text("x = 1\n")
    (tmp_path / "requirements.txt").write_text("numpy==2.0\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    return tmp_path


def test_fingerprint_changes_with_the_package_requirements_and_settings(tmp_path, monkeypatch):
    root = fake_repository(tmp_path)
    monkeypatch.delenv("REGCOURSE_PROFILE", raising=False)
    monkeypatch.delenv("REGCOURSE_DEVICE", raising=False)
    first = notebook_runs.fingerprint(root)
    assert notebook_runs.fingerprint(root) == first  # deterministic

    (root / "regcourse" / "layers.py").write_text("x = 2\n")
    second = notebook_runs.fingerprint(root)
    assert second != first
    (root / "requirements.txt").write_text("numpy==2.1\n")
    third = notebook_runs.fingerprint(root)
    assert third != second
    monkeypatch.setenv("REGCOURSE_PROFILE", "full")
    assert notebook_runs.fingerprint(root) != third
    monkeypatch.setenv("REGCOURSE_DEVICE", "cuda")
    assert len({third, notebook_runs.fingerprint(root)}) == 2


def test_fingerprint_ignores_how_pages_are_shown(tmp_path, monkeypatch):
    root = fake_repository(tmp_path)
    before = notebook_runs.fingerprint(root)
    monkeypatch.setenv("REGCOURSE_EDITION", "student")
    monkeypatch.setenv("REGCOURSE_BUILD_JOBS", "3")
    monkeypatch.setenv("REGCOURSE_SAVE_RUNS", "0")
    assert notebook_runs.fingerprint(root) == before


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_build_jobs_must_be_a_positive_integer(monkeypatch, value):
    monkeypatch.setenv("REGCOURSE_BUILD_JOBS", value)
    with pytest.raises(ValueError, match="REGCOURSE_BUILD_JOBS must be a positive integer"):
        notebook_runs.default_jobs()


def test_build_jobs_default_to_the_cores(monkeypatch):
    monkeypatch.delenv("REGCOURSE_BUILD_JOBS", raising=False)
    assert notebook_runs.default_jobs() >= 1
    monkeypatch.setenv("REGCOURSE_BUILD_JOBS", "3")
    assert notebook_runs.default_jobs() == 3


# ---------------------------------------------------------------------------
# The cache: a run is shown only with the current fingerprint
# ---------------------------------------------------------------------------


def test_a_stale_run_is_removed_and_a_current_one_kept(tmp_path):
    cache = notebook_runs.open_cache(tmp_path / "cache")
    path = write_notebook(tmp_path / "a.ipynb", "print(1)")
    notebook = notebook_runs.read_notebook(path)
    assert notebook_runs.valid_record(cache, notebook, "new") is None

    notebook_runs.store_run(cache, notebook, path, 1.5, "test", "old")
    assert notebook_runs.valid_record(cache, notebook, "new") is None  # stale: removed
    assert cache.list_cache_records() == []

    notebook_runs.store_run(cache, notebook, path, 2.5, "test", "new")
    record = notebook_runs.valid_record(cache, notebook, "new")
    assert record.data == {"execution_seconds": 2.5, "fingerprint": "new", "executed_by": "test"}


def test_saved_runs_are_taken_only_with_the_current_fingerprint(tmp_path):
    cache = notebook_runs.open_cache(tmp_path / "cache")
    folder = tmp_path / "runs"
    folder.mkdir()
    for name, stamp in (("current", "now"), ("stale", "before")):
        path = write_notebook(tmp_path / f"{name}.ipynb", f"print({name!r})")
        notebook = notebook_runs.read_notebook(path)
        notebook.metadata[notebook_runs.RUN_METADATA] = {
            "path": str(path),
            "seconds": 3.0,
            "fingerprint": stamp,
        }
        nbformat.write(notebook, str(folder / path.name))
    messages = []
    assert notebook_runs.import_saved_runs(cache, "now", folder, report=messages.append) == 1
    assert list(folder.iterdir()) == []  # both files are used up
    assert "1 taken into the cache, 1 discarded" in messages[0]
    (record,) = cache.list_cache_records()
    assert record.data["executed_by"] == "nbval"
    current = notebook_runs.read_notebook(tmp_path / "current.ipynb")
    assert notebook_runs.valid_record(cache, current, "now") is not None


# ---------------------------------------------------------------------------
# Parallel execution
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_parallel_execution_runs_each_notebook_in_its_folder(tmp_path):
    good = write_notebook(tmp_path / "good.ipynb", "import os\nprint(os.getcwd())", "6 * 7")
    bad = write_notebook(tmp_path / "bad.ipynb", "x = 1", "raise ValueError('planted fault')")
    runs = {
        Path(run.path).name: run
        for run in notebook_runs.execute_in_parallel(
            [good, bad], timeout=60, jobs=2, report=lambda message: None
        )
    }
    assert runs["good.ipynb"].error is None
    executed = nbformat.reads(runs["good.ipynb"].notebook_json, as_version=4)
    assert executed.cells[0].outputs[0].text.strip() == str(tmp_path)
    assert executed.cells[1].outputs[0].data["text/plain"] == "42"
    assert runs["good.ipynb"].seconds > 0
    # the failing cell's source and traceback, for the build log
    assert "planted fault" in runs["bad.ipynb"].error
    assert "raise ValueError" in runs["bad.ipynb"].error


@pytest.mark.slow
def test_the_build_hook_executes_missing_runs_and_fails_on_a_failing_cell(tmp_path, monkeypatch):
    import regcourse_book
    from sphinx.errors import ExtensionError

    monkeypatch.setattr(notebook_runs, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(notebook_runs, "SAVED_RUNS_DIR", tmp_path / "runs")
    monkeypatch.setenv("REGCOURSE_BUILD_JOBS", "2")
    pages = {"one": write_notebook(tmp_path / "one.ipynb", "print('one')")}
    env = SimpleNamespace(
        mystnb_config=SimpleNamespace(
            execution_mode="cache", execution_timeout=60, execution_allow_errors=False
        ),
        found_docs=set(pages),
        doc2path=lambda name: str(pages[name]),
    )
    assert regcourse_book.execute_notebooks_in_parallel(None, env, set(), set(), set()) == ["one"]
    # a second build finds the run current and executes nothing
    assert regcourse_book.execute_notebooks_in_parallel(None, env, set(), set(), set()) == []

    pages["two"] = write_notebook(tmp_path / "two.ipynb", "1 / 0")
    env.found_docs = set(pages)
    with pytest.raises(
        ExtensionError, match=r"(?s)Executing .*two.ipynb failed.*ZeroDivisionError"
    ):
        regcourse_book.execute_notebooks_in_parallel(None, env, set(), set(), set())


# ---------------------------------------------------------------------------
# nbval's runs, saved for the build
# ---------------------------------------------------------------------------


def test_outputs_are_assembled_from_kernel_messages_as_nbclient_does():
    def message(kind, content, parent="cell"):
        return {
            "msg_type": kind,
            "header": {"msg_type": kind},
            "content": content,
            "parent_header": {"msg_id": parent},
        }

    messages = [
        message("stream", {"name": "stdout", "text": "old\n"}),
        message("clear_output", {"wait": True}),
        message("stream", {"name": "stdout", "text": "a\n"}, parent="another cell"),
        message("display_data", {"data": {"text/plain": "shown"}, "metadata": {"k": 1}}),
        message(
            "execute_result", {"data": {"text/plain": "7"}, "metadata": {}, "execution_count": 3}
        ),
        message("status", {"execution_state": "idle"}),
    ]
    outputs = notebook_runs._kernel_outputs(messages, "cell")
    assert [output.output_type for output in outputs] == ["display_data", "execute_result"]
    assert outputs[0].metadata == {"k": 1}
    assert outputs[1].data["text/plain"] == "7"


NBVAL_CONFTEST = """
import sys
sys.path.insert(0, {ext!r})
import notebook_runs

def pytest_configure(config):
    notebook_runs.install_nbval_recorder(folder=__import__("pathlib").Path({runs!r}))
"""


@pytest.mark.slow
def test_nbval_runs_are_saved_only_when_every_cell_passes(tmp_path):
    runs = tmp_path / "runs"
    conftest = NBVAL_CONFTEST.format(ext=str(ROOT / "_ext"), runs=str(runs))
    (tmp_path / "conftest.py").write_text(textwrap.dedent(conftest))
    write_notebook(
        tmp_path / "passes.ipynb",
        "print('hello')\nprint('world')",
        "from IPython.display import Markdown\nMarkdown('**bold**')",
        "x = 1",
    )
    write_notebook(tmp_path / "fails.ipynb", "print('before')", "assert False, 'planted'")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
        + ["--nbval-lax", "--nbval-current-env", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 failed" in result.stdout, result.stdout + result.stderr
    (saved,) = runs.glob("*.ipynb")  # the failing notebook is not saved
    assert saved.name.endswith("passes.ipynb")
    notebook = nbformat.read(str(saved), as_version=4)
    first, second, third = notebook.cells
    assert "".join(output.text for output in first.outputs) == "hello\nworld\n"
    assert second.outputs[0].output_type == "execute_result"
    assert second.outputs[0].data["text/markdown"] == "**bold**"
    assert third.outputs == []
    assert [cell.execution_count for cell in notebook.cells] == [1, 2, 3]
    run = notebook.metadata[notebook_runs.RUN_METADATA]
    assert run["fingerprint"] == notebook_runs.fingerprint()
    assert run["seconds"] > 0
    assert Path(run["path"]) == (tmp_path / "passes.ipynb").resolve()
