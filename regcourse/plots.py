"""The course's figures, in one house style.

The central figure of the course is the *train/validation gap*: training and
validation loss per epoch, averaged over several seeds, with the gap between
them shaded. :func:`plot_gap` draws it for one configuration and
:func:`plot_gap_comparison` puts configurations side by side (say, without and
with dropout) on the same y-axis, so the gaps can be compared by eye.

House style (what every figure of the book follows):

- **Size.** A figure is at most :data:`FIGURE_WIDTH` inches wide (7.5 in, about
  the text column), with at most two panels per row (:func:`figure_size`), and no
  text smaller than 9 pt. The book shows figures as SVG at their natural size, so
  9 pt stays at least 12 px on a 1366-px screen; the PDF uses a 150-dpi PNG.
- **Colour = meaning**, the same in every chapter, from the colour-blind-safe
  Okabe-Ito palette and Paul Tol's muted palette (:data:`COLORS`, :func:`color`):
  training is always blue (:data:`TRAIN_COLOR`), held-out data (validation or
  test) always vermillion (:data:`VAL_COLOR`), an unregularized model ("plain",
  "baseline", "none") always dark grey, and each regularizer has its own colour
  (L2 green, dropout sky blue, batch norm wine, layer norm teal, ...).

Every function takes an optional ``ax`` (or creates its own figure) and
returns what it drew on; none calls ``plt.show()``, the chapter does.
Call :func:`set_style` once at the top of a notebook to give your own figures
the same look.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cycler
from matplotlib.ticker import MaxNLocator

from regcourse.experiments import mean_std, stack

__all__ = [
    "FIGURE_WIDTH",
    "COLORS",
    "color",
    "figure_size",
    "TRAIN_COLOR",
    "VAL_COLOR",
    "GAP_COLOR",
    "PALETTE",
    "HOUSE_STYLE",
    "set_style",
    "plot_gap",
    "plot_gap_comparison",
    "plot_sweep",
    "plot_digit_grid",
    "plot_coefficient_path",
    "plot_scoreboard",
]

TRAIN_COLOR = "#0072B2"  # blue
VAL_COLOR = "#D55E00"  # vermillion
GAP_COLOR = "0.65"  # grey, for the hatched generalization gap
PLAIN_COLOR = "#4D4D4D"  # dark grey: the model without the regularizer
#: Colours for any other curves, in order (Okabe-Ito, without blue and vermillion).
OTHER_COLORS = ["#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
PALETTE = [TRAIN_COLOR, VAL_COLOR] + OTHER_COLORS

#: Colours for curves that stand for no method (black, then greys).
NEUTRAL_COLORS = ["#000000", "#7F7F7F", "#BBBBBB"]

#: One colour per meaning, the same in every chapter (look up with :func:`color`).
COLORS = {
    # data
    "train": TRAIN_COLOR,
    "validation": VAL_COLOR,
    "test": VAL_COLOR,
    # the reference model, without the technique
    "plain": PLAIN_COLOR,
    "baseline": PLAIN_COLOR,
    "none": PLAIN_COLOR,
    # penalties
    "l2": "#009E73",  # bluish green
    "weight decay": "#009E73",
    "l1": "#CC79A7",  # reddish purple
    "elastic net": "#E69F00",  # orange
    # noise and normalization
    "dropout": "#56B4E9",  # sky blue
    "batch norm": "#882255",  # wine
    "layer norm": "#44AA99",  # teal
    "noise": "#AA4499",  # purple
    # architecture, procedure, data, targets
    "cnn": "#332288",  # indigo
    "early stopping": "#999933",  # olive
    "augmentation": "#117733",  # dark green
    "label smoothing": "#997700",  # dark gold
    "mixup": "#E69F00",  # orange (never shown next to elastic net)
    "ensemble": "#000000",  # black
}

#: The widest figure, in inches: about the book's text column.
FIGURE_WIDTH = 7.5
#: Height of one row of panels, in inches.
ROW_HEIGHT = 3.4


def color(meaning: str) -> str:
    """The house colour of a meaning, e.g. ``color("dropout")`` (case-insensitive).

    Meanings: the keys of :data:`COLORS` ("train", "validation", "plain", "l2",
    "dropout", "batch norm", ...).
    """
    key = str(meaning).strip().lower()
    if key not in COLORS:
        raise ValueError(f"no house colour for {meaning!r}; known meanings: {', '.join(COLORS)}")
    return COLORS[key]


def figure_size(ncols: int = 1, nrows: int = 1, row_height: float = ROW_HEIGHT):
    """``figsize`` for a grid of panels that stays legible in the text column.

    One panel is 6 in wide; two panels share :data:`FIGURE_WIDTH`. More than two
    panels per row would shrink the text below 9 px on screen, so they are
    refused: use more rows instead.
    """
    for name, value in (("ncols", ncols), ("nrows", nrows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if ncols > 2:
        raise ValueError(
            f"ncols={ncols}: at most 2 panels per row keep the text legible; "
            f"use nrows={math.ceil(ncols / 2) * nrows}, ncols=2"
        )
    if not row_height > 0:
        raise ValueError(f"row_height must be > 0 inches, got {row_height!r}")
    width = 6.0 if ncols == 1 else FIGURE_WIDTH
    return (width, row_height * nrows)


#: The matplotlib settings (rcParams) of the house style.
HOUSE_STYLE = {
    "figure.dpi": 100,
    "figure.figsize": (6.0, ROW_HEIGHT),
    "savefig.dpi": 150,  # the PNG the PDF uses
    "svg.hashsalt": "regcourse",  # the same figure gives the same SVG
    "svg.fonttype": "path",
    "figure.constrained_layout.use": True,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "figure.titlesize": 12,
    "legend.frameon": False,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "lines.linewidth": 2,
}

BAND_ALPHA = 0.2  # transparency of the ±1 std bands

_METRIC_NAMES = {"loss": "loss", "acc": "accuracy"}
_DEFAULT_YLABELS = {"loss": "cross-entropy loss", "acc": "accuracy"}


def set_style() -> None:
    """Apply the house style to every figure made from now on (``plt.rcParams``).

    In a notebook, figures are also shown as SVG (sharp at any zoom, used by the
    web book) with a 150-dpi PNG beside it (used by the PDF).
    """
    plt.rcParams.update(HOUSE_STYLE)
    _show_svg_and_png()


def _show_svg_and_png() -> None:
    """Make IPython's inline backend emit each figure as SVG and PNG (no-op outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing is displayed inline
        return
    if get_ipython() is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("svg", "png", dpi=HOUSE_STYLE["savefig.dpi"])


def _decorate(ax, title, xlabel, ylabel) -> None:
    """Title, axis labels, light grid, no top/right frame, and a legend."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=HOUSE_STYLE["grid.alpha"])
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False)


def _line_with_band(ax, x, mean, std, color, label, marker=None) -> None:
    """A mean curve with a light band from mean - std to mean + std."""
    ax.plot(x, mean, color=color, label=label, marker=marker)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=BAND_ALPHA, linewidth=0)


def _seeds_text(n_seeds: int) -> str:
    return "1 seed" if n_seeds == 1 else f"mean ± std over {n_seeds} seeds"


def plot_gap(histories, metric="loss", ax=None, title=None, label=None, show_gap=True, ylabel=None):
    """Training vs validation curves per epoch, averaged over seeds, with the gap shaded.

    Parameters
    ----------
    histories : list of History
        One training run per seed (a single History is accepted too).
        Runs stopped early are shorter: every run is cut to the shortest, so
        each epoch averages the same number of seeds.
    metric : "loss" or "acc"
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created when omitted.
    title : str, optional
        Defaults to "Training vs validation <metric> (mean ± std over n seeds)".
    label : str, optional
        Added to the legend entries, e.g. "dropout 0.5" gives "train (dropout 0.5)".
    show_gap : bool
        Hatch the region between the mean curves, labelled "generalization gap".
    ylabel : str, optional
        Defaults to "cross-entropy loss" or "accuracy"; say "mean squared
        error" for a regression run.

    For ``metric="loss"`` a dotted vertical line marks the epoch where the
    mean validation curve is lowest: where early stopping would stop.

    Returns the Axes.
    """
    if metric not in _METRIC_NAMES:
        raise ValueError(f"metric must be 'loss' or 'acc', got {metric!r}")
    train = stack(histories, f"train_{metric}")  # (n_seeds, n_epochs); raises if empty
    val = stack(histories, f"val_{metric}")
    if np.isnan(val).all():
        raise ValueError(
            f"the histories have no val_{metric} values (all nan); a regression run "
            "has no accuracy, plot metric='loss' instead"
        )
    n_seeds, n_epochs = train.shape
    epochs = np.arange(1, n_epochs + 1)
    train_mean, train_std = mean_std(train)
    val_mean, val_std = mean_std(val)
    suffix = f" ({label})" if label else ""
    if title is None:
        title = f"Training vs validation {_METRIC_NAMES[metric]} ({_seeds_text(n_seeds)})"

    with plt.rc_context(HOUSE_STYLE):
        if ax is None:
            _, ax = plt.subplots()
        _line_with_band(ax, epochs, train_mean, train_std, TRAIN_COLOR, "train" + suffix)
        _line_with_band(ax, epochs, val_mean, val_std, VAL_COLOR, "validation" + suffix)
        if show_gap:
            ax.fill_between(
                epochs,
                train_mean,
                val_mean,
                facecolor="none",
                edgecolor=GAP_COLOR,
                hatch="///",
                linewidth=0,
                label="generalization gap",
            )
        if metric == "loss":
            best_epoch = int(np.nanargmin(val_mean)) + 1
            ax.axvline(
                best_epoch,
                color="0.3",
                linestyle=":",
                linewidth=1.5,
                label=f"lowest validation loss (epoch {best_epoch})",
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _decorate(ax, title, "epoch", ylabel or _DEFAULT_YLABELS[metric])
    return ax


def plot_gap_comparison(groups: dict, metric="loss", axes=None, sharey=True):
    """One :func:`plot_gap` panel per configuration, side by side.

    ``groups`` maps a panel title to its histories, e.g.
    ``{"no dropout": histories_a, "dropout 0.5": histories_b}``. With
    ``sharey=True`` every panel gets the same y-limits, so the gaps compare
    by eye. Returns ``(fig, axes)``.
    """
    if not groups:
        raise ValueError("groups is empty: give {panel title: list of histories}")
    names = list(groups)
    with plt.rc_context(HOUSE_STYLE):
        if axes is None:
            ncols = min(2, len(names))
            nrows = math.ceil(len(names) / ncols)
            fig, grid = plt.subplots(
                nrows, ncols, figsize=figure_size(ncols, nrows), sharey=sharey, squeeze=False
            )
            for ax in grid.flat[len(names) :]:
                ax.set_visible(False)
            axes = grid.flat[: len(names)]
        else:
            axes = np.ravel(np.asarray(axes, dtype=object))
            if len(axes) != len(names):
                raise ValueError(
                    f"axes must hold one Axes per group ({len(names)}), got {len(axes)}"
                )
            fig = axes[0].figure
        for name, ax in zip(names, axes):
            plot_gap(groups[name], metric=metric, ax=ax, title=str(name))
        for ax in axes[1:]:  # the panels share one legend: keep it on the first only
            if ax.get_legend() is not None:
                ax.get_legend().remove()
        if sharey:
            lows, highs = zip(*(ax.get_ylim() for ax in axes))
            for ax in axes:
                ax.set_ylim(min(lows), max(highs))
        seed_counts = {len(stack(groups[name], "train_loss")) for name in names}
        seeds = _seeds_text(seed_counts.pop()) if len(seed_counts) == 1 else "mean ± std over seeds"
        fig.suptitle(f"Training vs validation {_METRIC_NAMES[metric]} ({seeds})")
    return fig, axes


def plot_sweep(x, curves: dict, xlabel, ylabel, title, ax=None, logx=False, colors=None):
    """Curves against a hyperparameter (penalty λ, degree, training-set size, ...).

    ``curves`` maps a legend label to ``(means, stds)``, one value per entry
    of ``x`` (``stds`` may be None). Each curve's colour follows its meaning:
    ``colors`` may map a label to a colour or to a meaning ("dropout", "l2");
    otherwise a label that is itself a meaning ("plain", "batch norm", "test")
    gets that meaning's colour, a label containing "train" the training colour,
    one containing "val" the validation colour, and any other label a neutral
    black or grey, never a regularizer's colour. With ``logx=True`` the x-axis
    is logarithmic, so every x must be > 0 (plot λ = 0 separately, e.g. as a
    horizontal line). Returns the Axes.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(
            f"x must be a non-empty 1-D array of hyperparameter values, got shape {x.shape}"
        )
    if not curves:
        raise ValueError("curves is empty: give {label: (means, stds)}")
    if logx and np.any(x <= 0):
        raise ValueError("logx=True needs every x > 0 (a log axis cannot show 0 or negatives)")

    colors = dict(colors or {})
    neutral_colors = iter(NEUTRAL_COLORS * len(curves))
    with plt.rc_context(HOUSE_STYLE):
        if ax is None:
            _, ax = plt.subplots()
        for name, (means, stds) in curves.items():
            means = np.asarray(means, dtype=np.float64)
            stds = np.zeros_like(means) if stds is None else np.asarray(stds, dtype=np.float64)
            if means.shape != x.shape or stds.shape != x.shape:
                raise ValueError(
                    f"curve {name!r}: means and stds need one value per x ({len(x)}), "
                    f"got shapes {means.shape} and {stds.shape}"
                )
            color = _curve_color(str(name), colors.get(name), neutral_colors)
            _line_with_band(ax, x, means, stds, color, str(name), marker="o")
        if logx:
            ax.set_xscale("log")
        _decorate(ax, title, xlabel, ylabel)
    return ax


def _curve_color(label: str, chosen, neutral_colors) -> str:
    """The colour of one curve of :func:`plot_sweep` (see its docstring)."""
    if chosen is not None:
        return COLORS.get(str(chosen).lower(), chosen)
    if label.lower() in COLORS:
        return COLORS[label.lower()]
    if "train" in label.lower():
        return TRAIN_COLOR
    if "val" in label.lower():
        return VAL_COLOR
    return next(neutral_colors)


def plot_digit_grid(images, titles=None, ncols=10, title=None):
    """Show square grey-scale images (e.g. 8x8 digits) in a grid; returns the Figure.

    ``images`` has shape (n, 64) (flattened, as in the datasets) or (n, 8, 8);
    any square size works. ``titles`` gives one short caption per image, e.g.
    its label. Standardized pixels no longer look like digits: show images
    from ``load_digits_splits(standardize=False)``.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1]:
            raise ValueError(
                f"flattened images need a square number of pixels, got {images.shape[1]}"
            )
        images = images.reshape(len(images), side, side)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(
            f"images must have shape (n, pixels) or (n, height, width), got {images.shape}"
        )
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles needs one entry per image ({len(images)}), got {len(titles)}")

    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    n_images = len(images)
    ncols = min(ncols, n_images)
    nrows = math.ceil(n_images / ncols)
    with plt.rc_context(HOUSE_STYLE):
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(0.72 * ncols, 0.9 * nrows + 0.4), squeeze=False
        )
        for i, ax in enumerate(axes.flat):
            ax.axis("off")
            if i < n_images:
                ax.imshow(images[i], cmap="gray_r")
                if titles is not None:
                    ax.set_title(str(titles[i]), fontsize=9)
        if title:
            fig.suptitle(title)
    return fig


def plot_coefficient_path(
    alphas,
    coefs,
    feature_names=None,
    title="Coefficient path",
    ax=None,
    xlabel="penalty strength α (log scale)",
    ylabel="coefficient",
):
    """Each coefficient against the penalty strength, for ridge / lasso / elastic-net paths.

    ``coefs`` has shape (len(alphas), n_features), as returned by
    ``regcourse.linear.lasso_path`` and friends. The x-axis is logarithmic and
    runs from strong penalties (left) to weak ones (right), so the features
    enter the model from left to right. With ``feature_names`` each line is
    labelled in the legend. Returns the Axes.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    coefs = np.asarray(coefs, dtype=np.float64)
    if alphas.ndim != 1 or len(alphas) == 0 or np.any(alphas <= 0):
        raise ValueError(
            "alphas must be a non-empty 1-D array of values > 0 (the x-axis is logarithmic)"
        )
    if coefs.ndim != 2 or coefs.shape[0] != len(alphas):
        raise ValueError(
            f"coefs must have shape (len(alphas), n_features) = ({len(alphas)}, ...), "
            f"got {coefs.shape}"
        )
    if feature_names is not None and len(feature_names) != coefs.shape[1]:
        raise ValueError(
            f"feature_names needs one name per feature ({coefs.shape[1]}), got {len(feature_names)}"
        )
    colors = plt.get_cmap("tab20")(np.linspace(0, 1, max(coefs.shape[1], 2)))
    with plt.rc_context(HOUSE_STYLE):
        if ax is None:
            _, ax = plt.subplots()
        for j in range(coefs.shape[1]):
            label = str(feature_names[j]) if feature_names is not None else None
            ax.plot(alphas, coefs[:, j], color=colors[j], linewidth=1.5, label=label)
        ax.axhline(0.0, color="0.3", linewidth=0.8)
        ax.set_xscale("log")
        # with sharex, a neighbouring panel may have inverted it already
        if not ax.xaxis_inverted():
            ax.invert_xaxis()
        _decorate(ax, title, xlabel, ylabel)
        if feature_names is not None and coefs.shape[1] > 10:
            ax.legend(
                frameon=False, fontsize=9, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5)
            )
    return ax


def plot_scoreboard(board, title=None):
    """The scoreboard as a figure: accuracies and the gap (top), the paired difference (bottom).

    ``board`` is a :class:`regcourse.benchmark.Scoreboard`. One row per recipe,
    the baseline on top. Top: training accuracy (training colour) and test
    accuracy (validation colour: held-out data), mean ± std over the seeds,
    joined by a grey bar, the train - test gap. Bottom: the paired difference
    of test accuracy to the baseline with its 95% confidence interval; an
    interval that crosses the dotted zero line is no measured difference.
    The panels are stacked, so the figure keeps the width of the text column
    and its labels their size. Returns ``(fig, axes)``.
    """
    names = list(board.names)
    if not names:
        raise ValueError("the scoreboard has no recipes to plot")
    rows = np.arange(len(names))[::-1]  # the baseline at the top
    with plt.rc_context(HOUSE_STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 2.0 + 0.55 * len(names)))
        for row, name in zip(rows, names):
            result = board.results[name]
            (train, train_sd), (test, test_sd) = (
                mean_std(100 * result[key]) for key in ("train_acc", "test_acc")
            )
            first = row == rows[0]
            top.plot(
                [test, train],
                [row, row],
                color=GAP_COLOR,
                linewidth=6,
                solid_capstyle="butt",
                label="train - test gap" if first else None,
            )
            top.errorbar(
                train,
                row,
                xerr=train_sd,
                fmt="o",
                color=TRAIN_COLOR,
                capsize=3,
                label="train" if first else None,
            )
            top.errorbar(
                test,
                row,
                xerr=test_sd,
                fmt="o",
                color=VAL_COLOR,
                capsize=3,
                label="test" if first else None,
            )
            if not first:
                diff = board.difference(name)
                errors = [[100 * (diff.mean - diff.low)], [100 * (diff.high - diff.mean)]]
                bottom.errorbar(100 * diff.mean, row, xerr=errors, fmt="o", color="0.2", capsize=4)
        bottom.axvline(0.0, color="0.3", linestyle=":", linewidth=1.5)
        for ax in (top, bottom):
            ax.set_yticks(rows, names)
            ax.set_ylim(-0.6, len(names) - 0.4)
        n_seeds = len(board.results[names[0]]["test_acc"])
        _decorate(top, "Accuracy and train - test gap", f"accuracy (%, {_seeds_text(n_seeds)})", "")
        top.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3)
        _decorate(
            bottom,
            f"Test accuracy: difference to the {names[0]}",
            "difference (points; mean and 95% CI over paired seeds)",
            "",
        )
        bottom.set_ylim(-0.6, len(names) - 1.4)  # no row for the baseline itself
        if title:
            fig.suptitle(title)
    return fig, (top, bottom)


# --- calibration ------------------------------------------------------------------------------

_DIAGONAL_GID = "reliability: perfect calibration"
_CURVE_GID = "reliability: model"


def plot_reliability_diagram(probs, y, n_bins=15, ax=None, label=None, color=None):
    """Reliability diagram (Guo et al. 2017): accuracy against confidence, bin by bin.

    The confidences (top probabilities) are cut into ``n_bins`` equal-width bins
    over [0, 1] by :func:`regcourse.experiments.calibration_bins`; each non-empty
    bin is a marker at (mean confidence, accuracy). A calibrated model lies on the
    dotted diagonal; below it a model is over-confident, above it under-confident.
    The legend gives the expected calibration error,
    ECE = sum_b (n_b / N) |acc_b - conf_b|, e.g. "dropout (ECE = 0.031)".

    ``probs`` is (N, C) probabilities (rows sum to 1), ``y`` the N integer labels
    (NumPy arrays or torch tensors). To compare models, call it again with the same
    ``ax`` and another ``label``: the diagonal is drawn once and each model gets the
    next colour of the palette unless ``color`` is given. Returns the Axes.
    """
    from matplotlib.colors import is_color_like

    from regcourse.experiments import calibration_bins

    bins = calibration_bins(probs, y, n_bins)  # checks probs, y and n_bins
    if color is not None and not is_color_like(color):
        raise ValueError(f"color must be a matplotlib colour, e.g. '#009E73' or 'k', got {color!r}")
    with plt.rc_context(HOUSE_STYLE):
        if ax is None:
            _, ax = plt.subplots(figsize=(4.8, 4.4))
        lines = ax.get_lines()
        if not any(line.get_gid() == _DIAGONAL_GID for line in lines):
            ax.plot(
                [0, 1],
                [0, 1],
                color="0.3",
                linestyle=":",
                linewidth=1.5,
                label="perfect calibration",
                gid=_DIAGONAL_GID,
            )
            ax.text(
                0.97,
                0.03,
                "below the diagonal: over-confident",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=9,
                color="0.3",
            )
        if color is None:
            n_curves = sum(line.get_gid() == _CURVE_GID for line in lines)
            color = OTHER_COLORS[n_curves % len(OTHER_COLORS)]
        ece = f"ECE = {bins.ece:.3f}"
        filled = bins.count > 0
        ax.plot(
            bins.confidence[filled],
            bins.accuracy[filled],
            marker="o",
            color=color,
            label=f"{label} ({ece})" if label is not None else ece,
            gid=_CURVE_GID,
        )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        _decorate(
            ax,
            f"Reliability diagram ({n_bins} bins)",
            "confidence (mean top probability in the bin)",
            "accuracy in the bin",
        )
    return ax


__all__ += ["plot_reliability_diagram"]
