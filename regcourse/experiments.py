"""Multi-seed runs and the tables the chapters print.

One training run is one draw of a random experiment: the initial weights, the
order of the mini-batches and the dropout masks all depend on the seed. So the
chapters train every configuration with several seeds and report
``mean ± std`` over them::

    histories = run_seeds(lambda seed: train_mlp(dropout=0.5, seed=seed), seeds=range(5))
    mean, std = mean_std(final_metric(histories, "val_acc"))

The functions here work on anything shaped like :class:`regcourse.History`:
an object with lists ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``
(one entry per epoch) and an integer ``best_epoch``.
"""

from __future__ import annotations

import html
import numbers

import numpy as np

__all__ = [
    "METRIC_KEYS",
    "run_seeds",
    "mean_std",
    "stack",
    "final_metric",
    "best_metric",
    "gap",
    "Table",
    "summary_table",
]

#: The per-epoch lists every History has.
METRIC_KEYS = ("train_loss", "val_loss", "train_acc", "val_acc")


def run_seeds(run_fn, seeds) -> list:
    """Call ``run_fn(seed)`` for every seed and return the results, in order.

    ``seeds`` is a non-empty sequence of integers, e.g. ``range(5)``.
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed, e.g. seeds=range(5)")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"every seed must be an integer, got {seed!r}")
    return [run_fn(int(seed)) for seed in seeds]


def mean_std(values):
    r"""Mean and sample standard deviation over the first axis (the seeds).

    For :math:`n` values :math:`v_1, \dots, v_n`:

    .. math:: \bar v = \frac{1}{n}\sum_i v_i, \qquad
              s = \sqrt{\frac{1}{n-1}\sum_i (v_i - \bar v)^2},

    and :math:`s = 0` when :math:`n = 1`. A list of numbers gives two floats;
    an array of shape (n_seeds, n_epochs), as from :func:`stack`, gives two
    arrays of shape (n_epochs,), one value per epoch.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0 or len(values) == 0:
        raise ValueError("values is empty: mean and std need at least one value")
    mean = values.mean(axis=0)
    if len(values) == 1:
        std = np.zeros_like(mean)
    else:
        std = values.std(axis=0, ddof=1)
    if values.ndim == 1:
        return float(mean), float(std)
    return mean, std


def _as_history_list(histories) -> list:
    """Accept one History or a sequence of them; return a non-empty list."""
    if hasattr(histories, "train_loss"):
        return [histories]
    histories = list(histories)
    if not histories:
        raise ValueError("histories is empty: give at least one History (one per seed)")
    return histories


def _check_key(key: str) -> str:
    if key not in METRIC_KEYS:
        raise ValueError(f"key must be one of {', '.join(METRIC_KEYS)}; got {key!r}")
    return key


def stack(histories, key: str) -> np.ndarray:
    """Per-epoch values of ``key`` for every seed, as an array (n_seeds, n_epochs).

    Runs stopped early have fewer epochs; all runs are cut to the shortest,
    so every column holds the same epoch of every seed.
    """
    histories = _as_history_list(histories)
    _check_key(key)
    curves = [list(getattr(history, key)) for history in histories]
    n_epochs = min(len(curve) for curve in curves)
    if n_epochs == 0:
        raise ValueError(f"a history has no epochs recorded in {key}")
    return np.array([curve[:n_epochs] for curve in curves], dtype=np.float64)


def final_metric(histories, key: str) -> np.ndarray:
    """The last recorded value of ``key`` in each history: an array with one entry per seed.

    Each run contributes its own last epoch, also when it stopped early.
    """
    histories = _as_history_list(histories)
    _check_key(key)
    values = []
    for history in histories:
        curve = getattr(history, key)
        if len(curve) == 0:
            raise ValueError(f"a history has no epochs recorded in {key}")
        values.append(curve[-1])
    return np.array(values, dtype=np.float64)


def best_metric(histories, key: str) -> np.ndarray:
    """The value of ``key`` at each run's ``best_epoch`` (its lowest validation loss).

    This is what early stopping would report: pick the epoch on the validation
    loss, then read any metric there, e.g. ``best_metric(histories, "val_acc")``.
    """
    histories = _as_history_list(histories)
    _check_key(key)
    values = []
    for history in histories:
        curve = getattr(history, key)
        if not 0 <= history.best_epoch < len(curve):
            raise ValueError(
                f"best_epoch must index a recorded epoch (0 .. {len(curve) - 1}), "
                f"got {history.best_epoch}"
            )
        values.append(curve[history.best_epoch])
    return np.array(values, dtype=np.float64)


def gap(history) -> float:
    r"""The generalization gap at the last epoch: validation loss minus training loss.

    .. math:: \text{gap} = L_\text{val} - L_\text{train}

    Positive when the model does better on the data it was trained on, which
    is the usual case; a large gap is the signature of overfitting.
    """
    if len(history.train_loss) == 0 or len(history.val_loss) == 0:
        raise ValueError("the history has no epochs: gap needs at least one")
    return float(history.val_loss[-1] - history.train_loss[-1])


class Table:
    """A small table of text cells that prints aligned and shows as HTML in a notebook.

    ``header`` is the list of column titles, ``rows`` a list of rows, each a
    list of cells as text (the first cell is the row's name). ``stats`` may
    hold the numbers behind the cells (see :func:`summary_table`).
    """

    def __init__(self, header: list[str], rows: list[list[str]], stats: dict | None = None):
        self.stats = stats if stats is not None else {}
        self.header = [str(cell) for cell in header]
        self.rows = [[str(cell) for cell in row] for row in rows]
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(
                    f"every row must have {len(self.header)} cells like the header, got {len(row)}: {row}"
                )

    def __str__(self) -> str:
        all_rows = [self.header] + self.rows
        widths = [max(len(row[i]) for row in all_rows) for i in range(len(self.header))]

        def line(row):
            first = row[0].ljust(widths[0])
            others = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
            return "  ".join([first] + others).rstrip()

        rule = "  ".join("-" * width for width in widths)
        return "\n".join([line(self.header), rule] + [line(row) for row in self.rows])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        style = 'style="padding: 0.25em 0.9em; text-align: right; white-space: nowrap"'

        def cells(row, tag):
            return "".join(f"<{tag} {style}>{html.escape(cell)}</{tag}>" for cell in row)

        head = f"<thead><tr>{cells(self.header, 'th')}</tr></thead>"
        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self.rows)
        return f'<table style="border-collapse: collapse">{head}<tbody>{body}</tbody></table>'



def summary_table(rows: dict, fmt: str = "{:.3f}", row_title: str = "") -> Table:
    """Turn ``{row: {column: values over seeds}}`` into a ``mean ± std`` :class:`Table`.

    Example::

        summary_table({
            "no dropout":  {"train acc": [1.0, 1.0, 1.0], "val acc": [0.90, 0.91, 0.89]},
            "dropout 0.5": {"train acc": [0.99, 0.98, 0.99], "val acc": [0.94, 0.95, 0.94]},
        })

    Each cell shows ``mean ± std`` (sample std over seeds, see
    :func:`mean_std`), formatted with ``fmt``; a cell with a single value
    shows that value alone, and a missing cell shows ``—``. The numbers
    themselves are kept in ``table.stats[row][column] = (mean, std)``.
    """
    if not rows:
        raise ValueError("rows is empty: give at least one row, {row name: {column: values}}")
    columns = []
    for row_cells in rows.values():
        for column in row_cells:
            if column not in columns:
                columns.append(column)

    stats = {}
    text_rows = []
    for row_name, row_cells in rows.items():
        stats[row_name] = {}
        text_row = [str(row_name)]
        for column in columns:
            if column not in row_cells:
                text_row.append("—")
                continue
            values = np.atleast_1d(np.asarray(row_cells[column], dtype=np.float64))
            mean, std = mean_std(values)
            stats[row_name][column] = (mean, std)
            if len(values) == 1:
                text_row.append(fmt.format(mean))
            else:
                text_row.append(f"{fmt.format(mean)} ± {fmt.format(std)}")
        text_rows.append(text_row)

    header = [row_title] + [str(column) for column in columns]
    return Table(header, text_rows, stats)
