"""Sphinx glue for the book: what Jupyter Book 1.x does not do by itself.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``. It

1. **serves MathJax 3 from the site itself.** The files come from the pinned
   ``sphinx-mathjax-offline`` package and are copied into ``_static/mathjax/`` of
   the HTML output when the build finishes (``mathjax_path`` in ``_config.yml``
   points there). They are deliberately not in a source ``_static/`` folder:
   Jupyter Book would add every ``.js`` file found there to every page.
2. **drops sphinx-thebe's scripts.** Jupyter Book always loads sphinx-thebe, which
   defines ``THEBE_JS_URL`` twice on every page (a console error) and points at a
   CDN. Thebe is off in this book, so its scripts are removed from every page.
3. **builds the runnable course**: ``download/regcourse-course.zip`` in the HTML
   output, with ``requirements.txt``, ``pyproject.toml``, ``regcourse/``, the chapter
   notebooks, the labs' student editions and ``HOW_TO_RUN.md``; the intro and every
   chapter link to it at the top.
4. **makes a solution's whole header open it.** sphinx-exercise turns the exercise
   title in "Solution to Exercise 5.2 (...)" into a link, so a click on it jumped to
   the exercise instead of opening the solution; the link is unwrapped to plain text.
5. **numbers the PDF's chapters like the web site's**: in LaTeX every page is a
   chapter, so the syllabus would be chapter 1 and "Dropout" chapter 6. The syllabus
   and the references are made unnumbered chapters there, so chapter 5 is "Dropout"
   in both, and so are "Fig. 5.2" and "(5.1)".
6. **writes the edition asked for** by the environment variable ``REGCOURSE_EDITION``
   (see ``.ci/build_edition``): ``default`` (solutions collapsed, labs with stubs),
   ``student`` (every exercise solution removed) or ``instructor`` (each lab page
   followed by the reference answers from its source in ``labs/``).
7. **registers the bibliography style ``regcourse``**: pybtex's ``plain`` style with
   author-year labels ("Srivastava et al., 2014") sorted by author and year, so the
   reference list matches the author-year citations in the text.
8. **executes the notebooks in parallel, once** (``_ext/notebook_runs.py``): before
   Sphinx reads the pages, every notebook without a current run in myst-nb's cache is
   executed in a pool of processes (one per core) and cached; runs the tests (nbval)
   saved are taken first. Sphinx then reads every page from the cache
   (``execute_notebooks: cache``). A failing cell fails the build with its traceback.
"""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from pathlib import Path

import notebook_runs
from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle as AuthorYearTitleSorting
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.fileutil import copy_asset

LOGGER = logging.getLogger(__name__)

ARCHIVE = "download/regcourse-course.zip"
#: What the archive holds, relative to the book's source folder.
ARCHIVE_FILES = ("requirements.txt", "pyproject.toml", "README.md")
ARCHIVE_FOLDERS = ("regcourse", "chapters", "labs/student")  # the labs' stubs, not answers
SKIPPED_PARTS = ("__pycache__", ".ipynb_checkpoints", "_build")

HOW_TO_RUN = """\
# Regularization in Deep Learning: run the course yourself

This archive holds everything the book's chapters need: the `regcourse` package
(NumPy reference and PyTorch twins), every chapter notebook (without outputs), and the
exact versions the book was built with (`requirements.txt`). No GPU and no network
access are needed once the requirements are installed: the data sets are bundled with
scikit-learn or generated on the spot.

With Python 3.11 or later:

```bash
python3 -m venv .venv
. .venv/bin/activate            # on Windows: .venv\\Scripts\\activate
pip install -r requirements.txt # installs regcourse itself too (editable)
pip install jupyterlab          # or use VS Code's notebook editor with this .venv
jupyter lab chapters/05_dropout.ipynb
```

Run a chapter without a notebook front end, as the book's CI does:

```bash
pytest chapters/05_dropout.ipynb
```

Every cell that states a number asserts it, so a chapter that runs to the end has
checked its own claims on your machine.

The labs are in `labs/student/`: each asks you to write the core of a technique in NumPy
(a penalty and its gradient, dropout, batch norm, a convolution, ...) and marks it with a
checker from `regcourse.check` that says what is wrong in your terms.
"""


# --- 1. MathJax from the site itself ------------------------------------------------------


def _mathjax_folder() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "sphinx-mathjax-offline is not installed: pip install -r requirements.txt"
        )
    return Path(spec.origin).parent / "static" / "mathjax"


def copy_mathjax(app, exception) -> None:
    """Copy MathJax 3 into ``_static/mathjax/`` of an HTML build."""
    if exception is None and app.builder.format == "html":
        copy_asset(str(_mathjax_folder()), str(Path(app.outdir) / "_static" / "mathjax"))


# --- 2. No sphinx-thebe scripts -----------------------------------------------------------


def _is_thebe_script(script) -> bool:
    body = getattr(script, "attributes", {}).get("body", "") or ""
    filename = getattr(script, "filename", None) or str(script)
    return "THEBE_JS_URL" in body or "sphinx-thebe" in filename


def drop_thebe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Remove sphinx-thebe's script tags from a page (thebe is off in this book)."""
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe_script(s)]


# --- 3. The runnable course ---------------------------------------------------------------


def _archive_members(source: Path):
    for name in ARCHIVE_FILES:
        yield source / name
    for folder in ARCHIVE_FOLDERS:
        for path in sorted((source / folder).rglob("*")):
            if path.is_file() and not any(part in SKIPPED_PARTS for part in path.parts):
                yield path


def write_course_archive(app, exception) -> None:
    """Zip the package, the notebooks and the requirements into the HTML output."""
    if exception is not None or app.builder.format != "html":
        return
    source = Path(app.srcdir)
    target = Path(app.outdir) / ARCHIVE
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("regcourse-course/HOW_TO_RUN.md", HOW_TO_RUN)
        for path in _archive_members(source):
            archive.write(path, "regcourse-course/" + path.relative_to(source).as_posix())


def _offers_download(app, docname: str) -> bool:
    return docname == app.config.root_doc or docname.startswith("chapters/")


def add_download_link(app, doctree, docname) -> None:
    """Put a "run it yourself" line under the title of the intro and of every chapter."""
    if app.builder.format != "html" or not _offers_download(app, docname):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    href = "../" * docname.count("/") + ARCHIVE
    html = (
        '<p class="regcourse-run"><strong>Run it yourself:</strong> '
        f'<a class="regcourse-download reference download" href="{href}" download>'
        "download the runnable course</a> (the <code>regcourse</code> package, every "
        "chapter notebook and <code>requirements.txt</code>; <code>HOW_TO_RUN.md</code> "
        "inside says how, in four commands).</p>"
    )
    section.insert(1, nodes.raw("", html, format="html"))


# --- 4. Solution headers without a link ----------------------------------------------------


def unlink_solution_titles(app, doctree, docname) -> None:
    """Replace the link in each solution's title by its text."""
    from sphinx_exercise.nodes import solution_node

    for solution in doctree.findall(solution_node):
        title = solution.children[0] if solution.children else None
        if not isinstance(title, nodes.title):
            continue
        for reference in list(title.findall(nodes.reference)):
            reference.replace_self(reference.children)


# --- 5. The PDF's chapter numbers -------------------------------------------------------

#: Pages that are chapters in LaTeX but not numbered chapters on the web site (the labs too).
UNNUMBERED_IN_PDF = ("syllabus", "bibliography")
FIRST_NUMBERED_CHAPTER = "chapters/01_overfitting"


def number_pdf_chapters_like_the_site(app, doctree, docname) -> None:
    """Switch LaTeX's chapter numbering off around the syllabus and the references."""
    if app.builder.format != "latex":
        return
    from sphinx import addnodes

    for start in doctree.findall(addnodes.start_of_file):
        if start["docname"] in UNNUMBERED_IN_PDF or start["docname"].startswith("labs/"):
            depth = -1
        elif start["docname"] == FIRST_NUMBERED_CHAPTER:
            depth = 2  # Sphinx's default for its LaTeX classes
        else:
            continue
        start.insert(0, nodes.raw("", f"\\setcounter{{secnumdepth}}{{{depth}}}\n", format="latex"))


# --- 6. Editions -----------------------------------------------------------------------

EDITIONS = ("default", "student", "instructor")


def edition() -> str:
    """The edition being built, from the environment variable REGCOURSE_EDITION."""
    name = os.environ.get("REGCOURSE_EDITION", "default").strip().lower() or "default"
    if name not in EDITIONS:
        raise ValueError(f"REGCOURSE_EDITION must be one of {EDITIONS}, got {name!r}")
    return name


def remove_solutions(app, doctree, docname) -> None:
    """Student edition: drop every exercise solution from the page."""
    if edition() != "student":
        return
    from sphinx_exercise.nodes import solution_node

    for solution in list(doctree.findall(solution_node)):
        solution.parent.remove(solution)


def lab_answers(docname: str, source: Path) -> list[str]:
    """The code of the `solution` cells of a lab's source, for labs/student/NN_topic."""
    lab = source / "labs" / (docname.rsplit("/", 1)[-1] + ".ipynb")
    if not docname.startswith("labs/student/") or not lab.is_file():
        return []
    cells = json.loads(lab.read_text(encoding="utf-8"))["cells"]
    return [
        "".join(cell["source"])
        for cell in cells
        if "solution" in cell.get("metadata", {}).get("tags", [])
    ]


def add_lab_answers(app, doctree, docname) -> None:
    """Instructor edition: follow each lab page by its reference answers."""
    answers = lab_answers(docname, Path(app.srcdir)) if edition() == "instructor" else []
    section = next(iter(doctree.findall(nodes.section)), None)
    if not answers or section is None:
        return
    block = nodes.section(ids=["reference-answers-instructor-edition"])
    block += nodes.title(text="Reference answers (instructor edition)")
    for code in answers:
        block += nodes.literal_block(code, code, language="python")
    section += block


# --- 7. Author-year bibliography ----------------------------------------------------------


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels like "Srivastava et al., 2014", "Ba et al., 2016", "Bishop, 1995"."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield self.format_label(entry)

    def format_label(self, entry) -> str:
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        year = entry.fields.get("year", "n.d.")
        if not persons:
            return f"{entry.fields.get('title', entry.key)[:20]}, {year}"
        first = " ".join(persons[0].prelast_names + persons[0].last_names)
        first = first.replace("{", "").replace("}", "")
        if len(persons) == 2:
            second = " ".join(persons[1].last_names).replace("{", "").replace("}", "")
            return f"{first} and {second}, {year}"
        return f"{first} et al., {year}" if len(persons) > 2 else f"{first}, {year}"


class AuthorYearStyle(PlainStyle):
    """pybtex's plain style, labelled and sorted by author and year."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = AuthorYearTitleSorting


def use_one_cache(app) -> None:
    """One execution cache for the site, the editions and the PDF: ``_build/.jupyter_cache``.

    (myst-nb's default is next to each builder's output folder, so the editions, built
    into ``_build/student/html``, would each have had a cache of their own.)
    """
    cache_dir = str(notebook_runs.CACHE_DIR)
    app.env.mystnb_config = app.env.mystnb_config.copy(execution_cache_path=cache_dir)


def _relative(path) -> str:
    path = Path(path).resolve()
    return (
        str(path.relative_to(notebook_runs.ROOT))
        if path.is_relative_to(notebook_runs.ROOT)
        else str(path)
    )


def execute_notebooks_in_parallel(app, env, added, changed, removed) -> list[str]:
    """Execute, in parallel, every notebook whose current run is not in the cache.

    Returns those pages, so that Sphinx reads them again (with the new outputs) even if
    their source did not change: a change to ``regcourse`` makes every run stale.
    """
    if env.mystnb_config.execution_mode != "cache":
        return []
    cache = notebook_runs.open_cache()
    current = notebook_runs.fingerprint()
    notebook_runs.import_saved_runs(cache, current, report=LOGGER.info)
    notebooks = {name: Path(env.doc2path(name)) for name in sorted(env.found_docs)}
    notebooks = {name: path for name, path in notebooks.items() if path.suffix == ".ipynb"}
    missing = {
        name: path
        for name, path in notebooks.items()
        if notebook_runs.valid_record(cache, notebook_runs.read_notebook(path), current) is None
    }
    LOGGER.info(
        f"notebooks: {len(notebooks)}, with a current run in the cache: "
        f"{len(notebooks) - len(missing)}, to execute: {len(missing)}"
    )
    if not missing:
        return []
    jobs = notebook_runs.default_jobs()
    failures = []
    runs = notebook_runs.execute_in_parallel(
        list(missing.values()),
        timeout=env.mystnb_config.execution_timeout,
        allow_errors=env.mystnb_config.execution_allow_errors,
        jobs=jobs,
        expected_seconds=notebook_runs.last_known_seconds(cache),
        report=LOGGER.info,
    )
    for run in runs:
        if run.error:
            LOGGER.info(f"{_relative(run.path)}: Executing notebook failed")
            failures.append(f"Executing {_relative(run.path)} failed:\n{run.error}")
            continue
        notebook = notebook_runs.nbformat.reads(run.notebook_json, as_version=4)
        executed_by = f"build ({jobs} processes)"
        notebook_runs.store_run(cache, notebook, Path(run.path), run.seconds, executed_by, current)
        LOGGER.info(f"{_relative(run.path)}: Executed notebook in {run.seconds:.2f} seconds")
    if failures:
        raise ExtensionError("\n\n".join(failures))
    return list(missing)


def setup(app):
    app.connect("builder-inited", use_one_cache, priority=900)
    app.connect("env-get-outdated", execute_notebooks_in_parallel)
    register_plugin("pybtex.style.labels", "regcourse", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "regcourse", AuthorYearStyle)
    app.connect("build-finished", copy_mathjax)
    app.connect("build-finished", write_course_archive)
    app.connect("html-page-context", drop_thebe_scripts)
    app.connect("doctree-resolved", add_download_link)
    app.connect("doctree-resolved", unlink_solution_titles)
    app.connect("doctree-resolved", number_pdf_chapters_like_the_site)
    edition()  # an unknown REGCOURSE_EDITION fails the build at once
    app.connect("doctree-resolved", remove_solutions)
    app.connect("doctree-resolved", add_lab_answers)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
