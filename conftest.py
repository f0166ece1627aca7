"""Repository-wide pytest set-up: nbval's runs of the notebooks are kept for the build.

nbval executes every chapter and lab (the README's test command). When every cell of a
notebook passes, the executed notebook is saved in ``_build/.notebook_runs/`` and the
next ``jupyter-book build .`` shows that run instead of executing the notebook again
(see ``_ext/notebook_runs.py``: a run is used only if the notebook, the ``regcourse``
sources, the requirements, the Python version and the ``REGCOURSE_*`` settings are the
same). Set ``REGCOURSE_SAVE_RUNS=0`` to keep nothing.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))


def pytest_configure(config):
    if os.environ.get("REGCOURSE_SAVE_RUNS", "1") == "0":
        return
    if config.pluginmanager.hasplugin("nbval"):
        import notebook_runs

        notebook_runs.install_nbval_recorder()
