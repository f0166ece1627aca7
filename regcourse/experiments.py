"""The experiment kit: multi-seed runs, sweeps, paired comparisons and tables.

One training run is one draw of a random experiment: the initial weights, the
order of the mini-batches and the dropout masks all depend on the seed. So the
chapters train every configuration with several seeds and report
``mean ± std`` over them::

    histories = run_seeds(lambda seed: train_mlp(dropout=0.5, seed=seed), seeds=range(5))
    mean, std = mean_std(final_metric(histories, "val_acc"))

The kit, in the order an experiment uses it:

- :func:`run_seeds` runs one configuration with several seeds; :func:`sweep` runs a
  parameter × seeds grid and returns a tidy :class:`SweepResult` (one record per run,
  mean ± std per value, the best value, a table, the histories for the plots).
- :func:`stack`, :func:`final_metric`, :func:`best_metric`, :func:`gap` and
  :func:`epochs_until` read numbers off histories: the curves, the last epoch, the
  early-stopping epoch, the train–validation gap, the epochs needed to reach a target.
- :func:`mean_std` and :func:`format_mean_std` give the mean ± sample std over seeds
  and its text, e.g. ``0.912 ± 0.010``.
- :func:`paired_difference` compares two settings run on the same seeds, with a
  Student-t confidence interval: what a verdict "B beats A" rests on.
- :class:`Table` and :func:`summary_table` print results, aligned as text and, as
  HTML, wrapping within the page's text column.
- :func:`run_profile`, :func:`by_profile` and :func:`profile_note`: the run profile
  (``REGCOURSE_PROFILE``, ``quick`` by default, or ``full``), read here and nowhere
  else, which sets how many seeds, how large the sweeps and how long the training.
- :func:`copy_to_torch` copies a ``regcourse.numpy`` model into its
  ``regcourse.torch`` twin, so the two can be compared number for number.

The functions on histories work on anything shaped like :class:`regcourse.History`:
an object with lists ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``
(one entry per epoch) and an integer ``best_epoch``. Nothing here imports
PyTorch until :func:`copy_to_torch` is called.
"""

from __future__ import annotations

import html
import math
import numbers
import os
from dataclasses import dataclass

import numpy as np

__all__ = [
    "METRIC_KEYS",
    "NBSP",
    "run_seeds",
    "sweep",
    "SweepResult",
    "mean_std",
    "format_mean_std",
    "stack",
    "final_metric",
    "best_metric",
    "gap",
    "epochs_until",
    "paired_difference",
    "PairedDifference",
    "Table",
    "summary_table",
    "claims_table",
    "CLAIMS_HEADER",
    "copy_to_torch",
    "PROFILES",
    "PROFILE_VARIABLE",
    "run_profile",
    "by_profile",
    "profile_note",
    "ProfileNote",
]

#: The per-epoch lists every History has.
METRIC_KEYS = ("train_loss", "val_loss", "train_acc", "val_acc")

#: U+00A0 NO-BREAK SPACE: put around "±" so that a table cell wrapped to fit the
#: page never breaks a "mean ± std" across two lines.
NBSP = "\u00a0"

#: What :func:`format_mean_std` puts between a mean and its std.
_PLUS_MINUS = f"{NBSP}±{NBSP}"


# ---------------------------------------------------------------------------
# Run profiles
# ---------------------------------------------------------------------------

#: The run profiles. ``quick`` (the default, what the book is built with): every
#: chapter within its time budget on a 2-core laptop. ``full``: more seeds, larger
#: subsets, longer training and the sweeps the quick profile cuts, for a lecturer
#: with a GPU or an afternoon.
PROFILES = ("quick", "full")

#: The environment variable that picks the profile, e.g. ``REGCOURSE_PROFILE=full``.
PROFILE_VARIABLE = "REGCOURSE_PROFILE"


def run_profile() -> str:
    """The run profile in force: ``$REGCOURSE_PROFILE``, or ``"quick"`` when it is unset.

    This is the one place the variable is read; chapters ask :func:`by_profile`.
    """
    value = os.environ.get(PROFILE_VARIABLE, "").strip() or "quick"
    if value not in PROFILES:
        raise ValueError(
            f"{PROFILE_VARIABLE} must be one of {', '.join(PROFILES)} "
            f"(or unset, which means quick), got {value!r}"
        )
    return value


def by_profile(quick, full):
    """``quick`` under the quick profile, ``full`` under the full one.

    Example: ``SEEDS = by_profile(quick=range(5), full=range(20))``.
    """
    return full if run_profile() == "full" else quick


@dataclass(frozen=True)
class ProfileNote:
    """The line a page shows to say which profile produced it (see :func:`profile_note`)."""

    profile: str
    this_run: str
    full: str

    def text(self) -> str:
        if self.profile == "quick":
            other = f" The `full` profile (`{PROFILE_VARIABLE}=full`) runs {self.full}."
            if not self.full:
                other = f" The `full` profile (`{PROFILE_VARIABLE}=full`) runs the same."
            return f"**Run profile: quick** (the default). This page: {self.this_run}.{other}"
        return (
            f"**Run profile: full** (`{PROFILE_VARIABLE}=full`). This page: {self.this_run}. "
            "The default `quick` profile runs less, to build on a laptop."
        )

    def _repr_markdown_(self) -> str:
        return self.text()

    def __str__(self) -> str:
        return self.text()


def profile_note(this_run: str, full: str = "") -> ProfileNote:
    """Which profile produced this page, what it ran, and what ``full`` runs instead.

    ``this_run`` describes the settings in force, best built from the constants
    themselves (``f"{len(SEEDS)} seeds per setting"``) so that it is true under
    either profile; ``full`` says what the full profile changes, e.g. "20 seeds
    and the sizes up to 4,000". Display the result (the last line of a cell).
    """
    for name, value in (("this_run", this_run), ("full", full)):
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    if not this_run.strip():
        raise ValueError("this_run must say what this page ran, e.g. '5 seeds per setting'")
    return ProfileNote(run_profile(), this_run.strip().rstrip("."), full.strip().rstrip("."))


def run_seeds(run_fn, seeds) -> list:
    """Call ``run_fn(seed)`` for every seed and return the results, in order.

    ``seeds`` is a non-empty sequence of integers, e.g. ``range(5)``.
    """
    return [run_fn(seed) for seed in _check_seeds(seeds)]


def _check_seeds(seeds) -> list[int]:
    """A non-empty list of integer seeds, else ValueError."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed, e.g. seeds=range(5)")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"every seed must be an integer, got {seed!r}")
    return [int(seed) for seed in seeds]


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


def format_mean_std(values, fmt: str = "{:.3f}", scale: float = 1.0, signed: bool = False) -> str:
    """``mean ± std`` over seeds as text, e.g. ``"0.912 ± 0.010"``.

    The values are first multiplied by ``scale`` (``scale=100`` turns accuracies
    into percentages, and differences of accuracies into percentage points); then
    :func:`mean_std` gives their mean and sample std (:math:`n - 1` in the
    denominator), each written with ``fmt``. ``signed=True`` writes the mean with
    its sign, as a difference should be read: ``"+2.1 ± 0.8"``. A single value
    has no spread to show and is written alone: ``"0.912"``.

    The spaces around ``±`` are no-break spaces (U+00A0, :data:`NBSP`), so a
    table cell wrapped to fit the page breaks between numbers, never inside
    ``0.912 ± 0.010``. A ``nan`` among the values (a run that never reached its
    target, the accuracy of a regression) makes the mean ``nan`` and is shown as
    such: nothing is dropped silently.
    """
    _check_fmt(fmt)
    scale = _check_scale(scale)
    if not isinstance(signed, (bool, np.bool_)):
        raise ValueError(f"signed must be True or False, got {signed!r}")
    values = _as_float_array("values", values)
    if values.ndim > 1:
        raise ValueError(f"values must be one number per seed (1-D), got shape {values.shape}")
    values = np.atleast_1d(values) * scale
    mean, std = mean_std(values)
    text = fmt.format(mean)
    if signed and not math.isnan(mean) and not text.lstrip().startswith(("+", "-")):
        text = "+" + text
    if len(values) == 1:
        return text
    return f"{text}{_PLUS_MINUS}{fmt.format(std).lstrip('+')}"  # a std needs no sign


def _check_fmt(fmt) -> str:
    """``fmt`` must format one number, like ``"{:.3f}"``."""
    allowed = "a format string for one number, such as '{:.3f}' or '{:+.1f}'"
    if not isinstance(fmt, str) or "{" not in fmt:
        raise ValueError(f"fmt must be {allowed}; got {fmt!r}")
    try:
        fmt.format(1.0)
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise ValueError(f"fmt must be {allowed}; got {fmt!r} ({error})") from None
    return fmt


def _is_finite_number(value) -> bool:
    """A real number (not a bool), neither nan nor infinite."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(value)


def _check_scale(scale) -> float:
    if not _is_finite_number(scale):
        raise ValueError(f"scale must be a finite number (e.g. 100 for percent), got {scale!r}")
    return float(scale)


def _as_float_array(name: str, values) -> np.ndarray:
    """``values`` as a float64 array, or a ValueError naming the argument."""
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers, got {values!r}") from None
    if values.size == 0:
        raise ValueError(f"{name} is empty: give at least one number (one per seed)")
    return values


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
    """The value of ``key`` at each run's ``best_epoch``.

    That is the epoch with the lowest validation loss or, for a run with early
    stopping, the early stopper's best epoch (with ``min_delta`` > 0 not always the
    lowest), whose weights ``fit`` restores. This is what early stopping would
    report: pick the epoch on the validation loss, then read any metric there,
    e.g. ``best_metric(histories, "val_acc")``.
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


def epochs_until(histories, target: float, key: str = "val_acc"):
    r"""The first epoch, counted from 1, at which ``key`` reaches ``target``; ``nan`` if never.

    An accuracy (``train_acc``, ``val_acc``) reaches the target when it is at
    least the target, a loss (``train_loss``, ``val_loss``) when it is at most
    the target. For the accuracies :math:`m_1, m_2, \dots` of one run:

    .. math:: e^\star = \min\,\{\, e \ge 1 : m_e \ge \text{target} \,\}.

    This measures speed rather than the end point: e.g. how many epochs batch
    norm saves to reach 90% validation accuracy. One History gives a float
    (``3.0``, or ``nan``); a list of histories gives an array with one entry per
    history, and ``np.isnan`` of it marks the runs that never got there.
    """
    _check_key(key)
    if not _is_finite_number(target):
        raise ValueError(f"target must be a finite number, e.g. 0.9 for val_acc; got {target!r}")
    single = hasattr(histories, "train_loss")
    reached_at = []
    for history in _as_history_list(histories):
        curve = np.asarray(getattr(history, key), dtype=np.float64)
        reached = curve >= target if key.endswith("_acc") else curve <= target
        hits = np.flatnonzero(reached)
        reached_at.append(float(hits[0] + 1) if hits.size else math.nan)
    return reached_at[0] if single else np.array(reached_at)


@dataclass(frozen=True)
class PairedDifference:
    """A paired comparison from :func:`paired_difference`.

    ``mean`` and ``std`` are the mean and sample std of the differences
    d = b - a over ``n`` paired seeds; ``[low, high]`` is the Student-t
    confidence interval for the mean difference at level ``confidence``.
    """

    mean: float
    std: float
    low: float
    high: float
    n: int
    confidence: float

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0: the sign is settled."""
        return self.low > 0 or self.high < 0

    def format(self, fmt: str = "{:+.3f}", scale: float = 1.0) -> str:
        """The mean and the interval as text: ``"+0.021 [+0.008, +0.034]"``.

        Each number is multiplied by ``scale`` first, e.g. ``scale=100`` gives
        a difference of accuracies in percentage points.
        """
        _check_fmt(fmt)
        scale = _check_scale(scale)
        mean, low, high = (fmt.format(scale * x) for x in (self.mean, self.low, self.high))
        return f"{mean} [{low},{NBSP}{high}]"  # a no-break space: the interval stays on one line

    def __str__(self) -> str:
        mean, low, high = (f"{x:+.3f}" for x in (self.mean, self.low, self.high))
        level = f"{100 * self.confidence:g}%"
        return f"{mean} ({level} CI {low} to {high}, {self.n} paired seeds)"


def paired_difference(a, b, confidence: float = 0.95) -> PairedDifference:
    r"""How much B differs from A, measured on the same seeds: b - a with a confidence interval.

    ``a[i]`` and ``b[i]`` must come from the same seed ``i``: the same initial
    weights, the same data subset, the same order of mini-batches where the two
    settings allow. With the :math:`n` differences :math:`d_i = b_i - a_i`,

    .. math:: \bar d = \frac{1}{n}\sum_i d_i, \qquad
              s_d = \sqrt{\frac{1}{n-1}\sum_i (d_i - \bar d)^2},

    and the two-sided Student-t interval at level :math:`c` for the mean
    difference is

    .. math:: \bar d \;\pm\; t_{(1+c)/2,\; n-1}\, \frac{s_d}{\sqrt{n}},

    where :math:`t_{q,\,n-1}` is the :math:`q`-quantile of Student's t with
    :math:`n - 1` degrees of freedom. This is the interval of the paired t-test
    (``scipy.stats.ttest_rel``): it excludes 0 exactly when that test's p-value
    is below :math:`1 - c`.

    Why pair the seeds? A seed brings luck that both settings share: a good
    initialization, an easy data subset. Write :math:`a_i = \mu_A + u_i + e_i`
    and :math:`b_i = \mu_B + u_i + e'_i`, with :math:`u_i` the seed's shared
    part. Then :math:`d_i = \mu_B - \mu_A + e'_i - e_i`: :math:`u_i` cancels. In
    variances,

    .. math:: \operatorname{Var}(b_i - a_i) = \sigma_A^2 + \sigma_B^2
              - 2\operatorname{Cov}(a_i, b_i),

    so the more a seed's luck is shared (:math:`\operatorname{Cov} > 0`), the
    tighter the interval. Two ``mean ± std`` bars side by side ignore that
    covariance, and they show the spread of single runs (:math:`\sigma`), not
    the uncertainty of a mean (:math:`\sigma/\sqrt{n}`): they can overlap while
    every single seed says B > A.

    ``n >= 2`` seeds are needed (one difference has no spread to estimate);
    ``confidence`` lies strictly between 0 and 1. Returns a
    :class:`PairedDifference`.
    """
    if not _is_finite_number(confidence) or not 0 < confidence < 1:
        raise ValueError(
            f"confidence must lie strictly between 0 and 1 (e.g. 0.95), got {confidence!r}"
        )
    a, b = _as_float_array("a", a), _as_float_array("b", b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"a and b must be 1-D arrays of the same length, one number per seed; "
            f"got shapes {a.shape} and {b.shape}"
        )
    bad_a, bad_b = int((~np.isfinite(a)).sum()), int((~np.isfinite(b)).sum())
    if bad_a or bad_b:
        raise ValueError(
            f"a and b must be finite, with no nan (found {bad_a} nan/inf in a, {bad_b} in b): "
            f"drop those seeds from both, so the pairs stay matched"
        )
    n = len(a)
    if n < 2:
        raise ValueError(
            f"a paired comparison needs at least 2 seeds (5 or more for a verdict), got {n}"
        )
    from scipy import stats  # imported here: importing scipy.stats takes a moment

    d = b - a
    mean, std = mean_std(d)
    half_width = stats.t.ppf((1 + confidence) / 2, n - 1) * std / math.sqrt(n)
    return PairedDifference(mean, std, mean - half_width, mean + half_width, n, float(confidence))


class Table:
    """A small table of text cells that prints aligned and shows as HTML in a notebook.

    ``header`` is the list of column titles, ``rows`` a list of rows, each a
    list of cells as text (the first cell is the row's name). ``stats`` may
    hold the numbers behind the cells (see :func:`summary_table`).

    As text, the columns are padded to align. As HTML (in a notebook and in the
    book), the table is at most as wide as the text column: cells wrap at
    spaces, the first column is left-aligned and the numbers right-aligned, and
    ``mean ± std`` never breaks, because :func:`format_mean_std` puts no-break
    spaces around ``±`` (in cells written by hand, ``" ± "`` gets them here).
    """

    def __init__(
        self,
        header: list[str],
        rows: list[list[str]],
        stats: dict | None = None,
        align: str | None = None,
    ):
        self.stats = stats if stats is not None else {}
        self.header = [str(cell) for cell in header]
        # one letter per column, "l" (text) or "r" (numbers); default: "l" then "r"s
        self.align = align if align is not None else "l" + "r" * (len(self.header) - 1)
        if len(self.align) != len(self.header) or set(self.align) - {"l", "r"}:
            raise ValueError(
                f"align must give one of 'l' or 'r' per column ({len(self.header)}), got {align!r}"
            )
        self.rows = [[str(cell) for cell in row] for row in rows]
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(
                    f"every row must have {len(self.header)} cells like the header, "
                    f"got {len(row)}: {row}"
                )

    def __str__(self) -> str:
        all_rows = [self.header] + self.rows
        widths = [max(len(row[i]) for row in all_rows) for i in range(len(self.header))]

        def line(row):
            padded = [
                cell.ljust(width) if a == "l" else cell.rjust(width)
                for a, cell, width in zip(self.align, row, widths)
            ]
            return "  ".join(padded).rstrip()

        rule = "  ".join("-" * width for width in widths)
        return "\n".join([line(self.header), rule] + [line(row) for row in self.rows])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        def cells(row, tag):
            out = []
            for letter, cell in zip(self.align, row):
                align = "left" if letter == "l" else "right"
                style = f"padding: 0.25em 0.9em; text-align: {align}; white-space: normal"
                text = html.escape(cell.replace(" ± ", _PLUS_MINUS)).replace(NBSP, "&nbsp;")
                out.append(f'<{tag} style="{style}">{text}</{tag}>')
            return "".join(out)

        head = f"<thead><tr>{cells(self.header, 'th')}</tr></thead>"
        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self.rows)
        table = f'<table style="border-collapse: collapse">{head}<tbody>{body}</tbody></table>'
        # A table too wide for the column scrolls inside its own box, not the page.
        return f'<div class="regcourse-table" style="overflow-x: auto">{table}</div>'

    def _repr_markdown_(self) -> str:
        """The table as Markdown: what the PDF shows (the web page uses the HTML)."""

        def line(row):
            escaped = [cell.replace("|", "\\|").replace(" ± ", _PLUS_MINUS) for cell in row]
            return "| " + " | ".join(escaped) + " |"

        rule = "|" + "|".join(":---" if a == "l" else "---:" for a in self.align) + "|"
        return "\n".join([line(self.header), rule] + [line(row) for row in self.rows])


#: The columns of every "Claims checked" table in the book.
CLAIMS_HEADER = ["Claim", "Measured here", "Verdict"]


def claims_table(claims) -> Table:
    """The "Claims checked" table that closes each chapter: one format for the book.

    ``claims`` is a list of ``(claim, measured, verdict)`` triples of text:
    what the literature or folklore says, what this chapter's runs measured
    (say how: "mean ± std over 5 seeds", "paired difference, 95% CI"), and the
    verdict ("true", "false", "only with wrong labels here", ...). The chapter
    asserts each verdict in code next to the table; this function only lays it out.
    """
    rows = [list(claim) for claim in claims]
    if not rows:
        raise ValueError("claims is empty: give a list of (claim, measured, verdict) triples")
    for row in rows:
        if len(row) != 3:
            raise ValueError(f"each claim must be (claim, measured, verdict), got {row!r}")
    return Table(CLAIMS_HEADER, rows, align="lll")


def summary_table(rows: dict, fmt: str = "{:.3f}", row_title: str = "") -> Table:
    """Turn ``{row: {column: values over seeds}}`` into a ``mean ± std`` :class:`Table`.

    Example::

        summary_table({
            "no dropout":  {"train acc": [1.0, 1.0, 1.0], "val acc": [0.90, 0.91, 0.89]},
            "dropout 0.5": {"train acc": [0.99, 0.98, 0.99], "val acc": [0.94, 0.95, 0.94]},
        })

    Each cell shows ``mean ± std`` (sample std over seeds, see
    :func:`format_mean_std`), formatted with ``fmt``; a cell with a single value
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
            stats[row_name][column] = mean_std(values)
            text_row.append(format_mean_std(values, fmt))
        text_rows.append(text_row)

    header = [row_title] + [str(column) for column in columns]
    return Table(header, text_rows, stats)


#: What :func:`sweep` records from a History: the last epoch's metrics, the gap, the best epoch.
_HISTORY_METRICS = METRIC_KEYS + ("gap", "best_epoch")


def sweep(run_fn, values, seeds, name: str = "value") -> SweepResult:
    """Run ``run_fn(value, seed)`` for every value and every seed; return a :class:`SweepResult`.

    ``values`` are the settings of the one parameter being swept (a penalty
    strength, a dropout rate, ...); each runs with every seed, values outer and
    seeds inner. ``run_fn`` returns either

    - a dict of scalar metrics, e.g. ``{"val_acc": 0.91, "test_acc": 0.90}``, or
    - a History: the sweep records its last epoch's ``train_loss``,
      ``val_loss``, ``train_acc`` and ``val_acc``, the ``gap`` (val_loss −
      train_loss, see :func:`gap`) and ``best_epoch`` (0-based, as in the
      History), and keeps the histories in ``result.histories[value]``, one per
      seed, for the plots.

    Every run must return the same metric names. Example::

        result = sweep(lambda p, seed: train_mlp(dropout=p, seed=seed),
                       [0.0, 0.2, 0.5], seeds=range(5), name="p")
        result.table(["val_acc", "gap"])     # mean ± std, one row per p
        result.best("val_acc")               # the p with the best mean val acc
        paired_difference(result.get("val_acc", 0.0), result.get("val_acc", 0.5))
    """
    if not isinstance(name, str) or not name or name == "seed":
        raise ValueError(f"name must be a non-empty string other than 'seed', got {name!r}")
    values = list(values)
    if not values:
        raise ValueError("values is empty: give at least one parameter value to sweep over")
    if len(_unique(values, name)) < len(values):
        raise ValueError(f"values must be distinct, got {values}")
    seeds = _check_seeds(seeds)
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    records, histories = [], {}
    for value in values:
        for seed in seeds:
            result = run_fn(value, seed)
            where = f"{name}={value!r}, seed={seed}"
            if hasattr(result, "train_loss"):
                histories.setdefault(value, []).append(result)
                metrics = {key: _history_metric(result, key) for key in _HISTORY_METRICS}
            elif isinstance(result, dict):
                metrics = {key: _scalar(key, number, where) for key, number in result.items()}
                if name in metrics or "seed" in metrics:
                    raise ValueError(
                        f"run_fn returned a metric named {name!r} or 'seed' ({where}): "
                        f"those names are the sweep's own columns; rename the metric"
                    )
            else:
                raise ValueError(
                    f"run_fn must return a dict of scalar metrics or a History; "
                    f"for {where} it returned {type(result).__name__}"
                )
            if records:  # fail at once, not after the whole sweep has run
                _check_same_metrics(records[0], {name: value, "seed": seed, **metrics}, name)
            records.append({name: value, "seed": seed, **metrics})
    n_histories = sum(len(runs) for runs in histories.values())
    if 0 < n_histories < len(records):
        raise ValueError(
            "run_fn returned a History for some runs and a dict for others: "
            "return the same kind every time"
        )
    return SweepResult(records, name=name, histories=histories or None)


def _history_metric(history, key: str) -> float:
    if key == "gap":
        return gap(history)
    if key == "best_epoch":
        return history.best_epoch
    return float(final_metric(history, key)[0])


def _scalar(metric, number, where: str) -> float:
    """One metric of one run as a float: a real number or a 0-d array (NumPy or torch)."""
    if not isinstance(metric, str):
        raise ValueError(f"metric names must be strings; {where} returned the name {metric!r}")
    if isinstance(number, numbers.Real) or getattr(number, "shape", None) == ():
        try:
            return float(number)
        except (TypeError, ValueError):
            pass
    raise ValueError(f"every metric must be a single number; {where} returned {metric}={number!r}")


class SweepResult:
    """The runs of a :func:`sweep`, as a tidy table, with the views chapters need.

    - ``records``: one dict per run, ``{name: value, "seed": seed, metric: number, ...}``;
      tidy, so ``pandas.DataFrame(result.records)`` is one line.
    - ``name``, ``values``, ``seeds``, ``metrics``: the parameter's name, its
      values and the seeds in the order run, the metric names in the order the
      first run returned them.
    - ``histories``: ``{value: [History for each seed]}`` when ``run_fn``
      returned histories, else ``None``.
    - :meth:`get`, :meth:`mean_std`, :meth:`best`, :meth:`table`: one metric over
      seeds, its mean ± std over values, the best value, a mean ± std table.

    ``sweep`` builds it; records collected by hand work too, if they cover every
    (value, seed) pair exactly once with the same metrics.
    """

    def __init__(self, records, name: str = "value", histories: dict | None = None):
        self.records = list(records)
        if not self.records:
            raise ValueError("records is empty: a sweep needs at least one run")
        self.name = name
        self.histories = histories
        for record in self.records:
            if not isinstance(record, dict) or name not in record or "seed" not in record:
                raise ValueError(
                    f"every record must be a dict with keys {name!r} and 'seed', got {record!r}"
                )
        self.metrics = [key for key in self.records[0] if key not in (name, "seed")]
        self.values = _unique([record[name] for record in self.records], name)
        self.seeds = _unique([record["seed"] for record in self.records], "seed")
        self._grid = self._fill_grid()

    def _fill_grid(self) -> dict:
        """``{metric: array (n_values, n_seeds)}``, checking every pair runs once."""
        rows = {value: i for i, value in enumerate(self.values)}
        columns = {seed: j for j, seed in enumerate(self.seeds)}
        shape = (len(self.values), len(self.seeds))
        grid = {metric: np.full(shape, np.nan) for metric in self.metrics}
        seen = np.zeros(shape, dtype=bool)
        for record in self.records:
            _check_same_metrics(self.records[0], record, self.name)
            value, seed = record[self.name], record["seed"]
            where = f"{self.name}={value!r}, seed={seed}"
            i, j = rows[value], columns[seed]
            if seen[i, j]:
                raise ValueError(f"the run {where} appears twice in the records")
            seen[i, j] = True
            for metric in self.metrics:
                grid[metric][i, j] = _scalar(metric, record[metric], where)
        if not seen.all():
            i, j = np.argwhere(~seen)[0]
            raise ValueError(f"no run for {self.name}={self.values[i]!r}, seed={self.seeds[j]}")
        return grid

    def _check_metric(self, metric: str) -> str:
        if metric not in self._grid:
            raise ValueError(f"metric must be one of {', '.join(self.metrics)}; got {metric!r}")
        return metric

    def get(self, metric: str, value) -> np.ndarray:
        """``metric`` for one parameter value: an array with one entry per seed, in seed order."""
        self._check_metric(metric)
        for i, known in enumerate(self.values):
            if known == value:
                return self._grid[metric][i].copy()
        raise ValueError(f"{self.name} must be one of {self.values}; got {value!r}")

    def mean_std(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sample std over seeds of ``metric``: two arrays, one entry per value."""
        self._check_metric(metric)
        return mean_std(self._grid[metric].T)

    def best(self, metric: str, mode: str = "max"):
        """The parameter value whose mean ``metric`` over seeds is highest (``"max"``) or lowest.

        Values whose mean is ``nan`` are skipped; a tie goes to the value run first.
        """
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        means, _ = self.mean_std(metric)
        if np.isnan(means).all():
            raise ValueError(f"every mean of {metric} is nan: there is no best {self.name}")
        index = np.nanargmax(means) if mode == "max" else np.nanargmin(means)
        return self.values[int(index)]

    def table(self, metrics=None, fmt: str = "{:.3f}") -> Table:
        """A :class:`Table` of ``mean ± std`` over seeds: one row per value, one column per metric.

        ``metrics`` is a metric name or a list of them; by default every metric
        except those that are ``nan`` in every run (the accuracies of a regression).
        ``table.stats[value][metric]`` holds the numbers.
        """
        if metrics is None:
            metrics = [m for m in self.metrics if not np.isnan(self._grid[m]).all()]
        elif isinstance(metrics, str):
            metrics = [metrics]
        for metric in metrics:
            self._check_metric(metric)
        rows = {
            value: {metric: self._grid[metric][i] for metric in metrics}
            for i, value in enumerate(self.values)
        }
        return summary_table(rows, fmt=fmt, row_title=self.name)

    def __repr__(self) -> str:
        return (
            f"SweepResult({self.name}: {len(self.values)} values × {len(self.seeds)} seeds, "
            f"metrics {self.metrics})"
        )


def _check_same_metrics(first: dict, record: dict, name: str):
    """Every run of a sweep must have the metrics of the first run, no more, no fewer."""
    columns = {name, "seed"}
    expected, got = set(first) - columns, set(record) - columns
    if got != expected:
        where = f"{name}={record.get(name)!r}, seed={record.get('seed')}"
        raise ValueError(
            f"the run {where} has different metrics from the first run: "
            f"missing {sorted(map(str, expected - got))}, "
            f"unexpected {sorted(map(str, got - expected))}"
        )


def _unique(items: list, what: str) -> list:
    """The distinct items in order of first appearance (they must be hashable)."""
    try:
        return list(dict.fromkeys(items))
    except TypeError:
        raise ValueError(
            f"every {what} must be hashable (a number, a string or a tuple), got {items!r}"
        ) from None


def copy_to_torch(numpy_model, torch_model):
    """Copy every parameter and buffer of a ``regcourse.numpy`` model into its torch twin.

    The twin is a ``regcourse.torch`` (or any ``torch.nn``) model with the same
    names and shapes, e.g. ``rnp.mlp([64, 32, 10])`` and ``rt.mlp([64, 32, 10])``.
    The copy is in place: each value is cast to the dtype of the tensor it
    replaces (float32 weights stay float32, ``num_batches_tracked`` stays an
    integer) and lands on that tensor's device, whatever it is (CPU, CUDA, meta).
    Afterwards both models compute the same function, so their outputs and
    gradients can be compared number for number. Returns ``torch_model``.

    Raises ValueError, before copying anything, if the names differ (listing the
    missing and unexpected ones) or a shape differs.
    """
    import torch  # imported here, so that importing this module does not load PyTorch

    if not isinstance(torch_model, torch.nn.Module):
        raise ValueError(f"torch_model must be a torch.nn.Module, got {type(torch_model).__name__}")
    if isinstance(numpy_model, torch.nn.Module) or not hasattr(numpy_model, "state_dict"):
        raise ValueError(
            f"numpy_model must be a regcourse.numpy model, got {type(numpy_model).__name__} "
            f"(the NumPy model comes first: copy_to_torch(numpy_model, torch_model))"
        )
    source = numpy_model.state_dict()
    target = torch_model.state_dict()
    missing, unexpected = sorted(set(target) - set(source)), sorted(set(source) - set(target))
    if missing or unexpected:
        raise ValueError(
            f"the two models do not have the same parameters and buffers: the NumPy model "
            f"lacks {missing} and has unexpected {unexpected}"
        )
    for name, tensor in target.items():
        if np.shape(source[name]) != tuple(tensor.shape):
            raise ValueError(
                f"shape mismatch for {name!r}: NumPy model has {np.shape(source[name])}, "
                f"torch model has {tuple(tensor.shape)}"
            )
    with torch.no_grad():
        for name, tensor in target.items():
            tensor.copy_(torch.as_tensor(np.asarray(source[name]), dtype=tensor.dtype))
    return torch_model


# --- calibration ------------------------------------------------------------------------------

#: Each row of ``probs`` must sum to 1 within this tolerance (float32 softmax outputs do).
PROB_SUM_TOL = 1e-5


@dataclass(frozen=True, eq=False)
class CalibrationBins:
    """Per-bin statistics of a classifier's confidence, from :func:`calibration_bins`.

    Bin b = 0, ..., n_bins - 1 holds the samples whose confidence (top probability)
    lies in ``(edges[b], edges[b + 1]]``. For each bin: ``count`` n_b, ``confidence``
    conf_b (the mean top probability in the bin) and ``accuracy`` acc_b (the fraction
    of its samples whose top class is the label); both are nan where n_b = 0.
    """

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray

    @property
    def n(self) -> int:
        """The number of samples, sum_b n_b."""
        return int(self.count.sum())

    @property
    def ece(self) -> float:
        """The expected calibration error, sum_b (n_b / n) |acc_b - conf_b| (empty bins add 0)."""
        filled = self.count > 0
        weights = self.count[filled] / self.n
        return float(np.sum(weights * np.abs(self.accuracy[filled] - self.confidence[filled])))


def _to_numpy(value) -> np.ndarray:
    """A NumPy array from an array-like or a torch tensor (on any device)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _check_probabilities(probs) -> np.ndarray:
    """``probs`` as a float64 (N, C) array of probabilities whose rows sum to 1."""
    try:
        probs = np.asarray(_to_numpy(probs), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"probs must hold numbers, got {probs!r}") from None
    if probs.ndim != 2 or probs.shape[0] == 0 or probs.shape[1] == 0:
        raise ValueError(
            f"probs must have shape (N, C) with N >= 1 samples and C >= 1 classes, "
            f"got {probs.shape}"
        )
    if not np.all(np.isfinite(probs)) or probs.min() < 0:
        raise ValueError("probs must hold finite probabilities >= 0 (softmax outputs, not logits)")
    sums = probs.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(sums[worst] - 1.0) > PROB_SUM_TOL:
        raise ValueError(
            f"every row of probs must sum to 1 (within {PROB_SUM_TOL:g}); row {worst} sums to "
            f"{sums[worst]:.6g} (pass softmax probabilities, not logits)"
        )
    return probs


def _check_labels(y, n: int, n_classes: int) -> np.ndarray:
    """``y`` as an integer array of shape (n,) with values in [0, n_classes - 1]."""
    y = _to_numpy(y)
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), one label per row of probs, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"labels must lie in [0, {n_classes - 1}] for {n_classes} classes, "
            f"got range [{y.min()}, {y.max()}]"
        )
    return y


def _check_n_bins(n_bins) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    return int(n_bins)


def calibration_bins(probs, y, n_bins: int = 15) -> CalibrationBins:
    r"""Confidence, accuracy and count in equal-width confidence bins over [0, 1].

    ``probs`` is an (N, C) array of predicted probabilities (softmax outputs; each
    row must sum to 1 within :data:`PROB_SUM_TOL`), ``y`` the N integer labels;
    torch tensors are accepted (converted with ``.detach().cpu().numpy()``).

    For sample i the prediction is the top class argmax_c p_ic (the first one on a
    tie), its confidence conf_i = max_c p_ic and it is correct when that class is y_i.
    The bins are B_b = (b/M, (b + 1)/M], b = 0, ..., M - 1, with M = ``n_bins``
    (the edges are ``np.linspace(0, 1, M + 1)``): closed on the right, so a
    confidence equal to an edge belongs to the bin it closes. A confidence of
    exactly 0 is impossible (the top of C probabilities is >= 1/C); one a rounding
    error above 1 goes to the last bin. Then

        n_b = |B_b|,   conf_b = (1/n_b) sum_{i in B_b} conf_i,
        acc_b = (1/n_b) sum_{i in B_b} [argmax_c p_ic = y_i].

    A calibrated model has acc_b ~ conf_b in every bin: among the predictions made
    with 80% confidence, 80% are right. Returns a :class:`CalibrationBins`.
    """
    n_bins = _check_n_bins(n_bins)
    probs = _check_probabilities(probs)
    y = _check_labels(y, *probs.shape)
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # searchsorted(side="left") gives i with edges[i - 1] < conf <= edges[i]: bin i - 1
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    return CalibrationBins(
        edges=edges,
        confidence=_bin_mean(np.bincount(index, weights=confidence, minlength=n_bins), count),
        accuracy=_bin_mean(np.bincount(index, weights=correct, minlength=n_bins), count),
        count=count,
    )


def _bin_mean(sums: np.ndarray, count: np.ndarray) -> np.ndarray:
    """sums / count per bin, nan for the empty bins."""
    return np.divide(sums, count, out=np.full(len(count), np.nan), where=count > 0)


def expected_calibration_error(probs, y, n_bins: int = 15) -> float:
    r"""The expected calibration error, ECE (Guo et al. 2017, "On calibration of modern
    neural networks").

    With the bins of :func:`calibration_bins` (M = ``n_bins`` equal-width bins of
    the confidence over [0, 1]) and N samples,

        ECE = sum_b (n_b / N) |acc_b - conf_b|,

    the gap between accuracy and confidence, averaged over the samples. It estimates
    E[ |P(correct | conf) - conf| ]: 0 for a calibrated model, up to 1. Above the
    diagonal of the reliability diagram (acc_b > conf_b) a model is under-confident,
    below it over-confident; ECE counts both. The estimate depends on M, and sampling
    noise makes it positive even for a calibrated model: at most (1/2) sqrt(M / N) in
    expectation (each bin's accuracy has variance <= 1 / (4 n_b)). Returns a float.
    """
    return calibration_bins(probs, y, n_bins).ece


__all__ += [
    "PROB_SUM_TOL",
    "CalibrationBins",
    "calibration_bins",
    "expected_calibration_error",
]
