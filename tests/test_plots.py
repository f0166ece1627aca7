"""Tests for regcourse.plots: the figures have titles, labels and legends, and reject bad input."""

import matplotlib

matplotlib.use("Agg")  # no display needed; set before pyplot is imported

from types import SimpleNamespace  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from regcourse.plots import (  # noqa: E402
    HOUSE_STYLE,
    TRAIN_COLOR,
    VAL_COLOR,
    plot_coefficient_path,
    plot_digit_grid,
    plot_gap,
    plot_gap_comparison,
    plot_sweep,
    set_style,
)


def fake_history(n_epochs, seed, overfit=True):
    """A History-like object whose validation loss turns up after a while."""
    rng = np.random.default_rng(seed)
    epochs = np.arange(n_epochs)
    train = np.exp(-epochs / 5) + 0.01 * rng.random(n_epochs)
    val = train + (0.02 * epochs if overfit else 0.05)
    return SimpleNamespace(
        train_loss=list(train),
        val_loss=list(val),
        train_acc=list(1 - train / 2),
        val_acc=list(1 - val / 2),
        best_epoch=int(np.argmin(val)),
    )


@pytest.fixture
def histories():
    return [fake_history(20, seed) for seed in range(3)]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_plot_gap_has_title_labels_and_legend(histories):
    ax = plot_gap(histories)
    assert ax.get_title() == "Training vs validation loss (mean ± std over 3 seeds)"
    assert ax.get_xlabel() == "epoch"
    assert ax.get_ylabel() == "cross-entropy loss"
    texts = legend_texts(ax)
    assert "train" in texts and "validation" in texts and "generalization gap" in texts
    assert any(text.startswith("lowest validation loss") for text in texts)
    train_line = ax.get_lines()[0]
    assert train_line.get_xdata()[0] == 1  # epochs count from 1
    assert matplotlib.colors.same_color(train_line.get_color(), TRAIN_COLOR)
    assert matplotlib.colors.same_color(ax.get_lines()[1].get_color(), VAL_COLOR)


def test_plot_gap_accuracy_label_and_custom_ax(histories):
    _, ax = plt.subplots()
    returned = plot_gap(histories, metric="acc", ax=ax, label="dropout 0.5", show_gap=False)
    assert returned is ax
    assert ax.get_ylabel() == "accuracy"
    texts = legend_texts(ax)
    assert "train (dropout 0.5)" in texts and "generalization gap" not in texts
    assert not any(text.startswith("lowest") for text in texts)


def test_plot_gap_truncates_to_shortest_run():
    runs = [fake_history(20, 0), fake_history(12, 1)]  # the second stopped early
    ax = plot_gap(runs)
    assert len(ax.get_lines()[0].get_xdata()) == 12


def test_plot_gap_rejects_bad_input(histories):
    with pytest.raises(ValueError, match="empty"):
        plot_gap([])
    with pytest.raises(ValueError, match="metric"):
        plot_gap(histories, metric="f1")
    regression = fake_history(5, 0)
    regression.val_acc = [float("nan")] * 5
    with pytest.raises(ValueError, match="nan"):
        plot_gap([regression], metric="acc")


def test_plot_gap_comparison_shares_y_limits(histories):
    groups = {
        "no dropout": histories,
        "dropout 0.5": [fake_history(20, s, overfit=False) for s in range(3)],
    }
    fig, axes = plot_gap_comparison(groups)
    assert len(axes) == 2
    assert [ax.get_title() for ax in axes] == ["no dropout", "dropout 0.5"]
    assert axes[0].get_ylim() == axes[1].get_ylim()
    assert fig._suptitle is not None


def test_plot_gap_comparison_with_given_axes(histories):
    _, axes = plt.subplots(1, 2)
    fig, returned = plot_gap_comparison({"a": histories, "b": histories}, axes=axes)
    assert list(returned) == list(axes)
    with pytest.raises(ValueError, match="one Axes per group"):
        plot_gap_comparison({"a": histories}, axes=axes)
    with pytest.raises(ValueError, match="empty"):
        plot_gap_comparison({})


def test_plot_sweep_with_log_axis():
    lambdas = np.array([1e-4, 1e-3, 1e-2, 1e-1])
    curves = {
        "train": (np.array([0.1, 0.2, 0.3, 0.5]), np.full(4, 0.01)),
        "validation": (np.array([0.6, 0.5, 0.4, 0.55]), np.full(4, 0.02)),
        "test": ([0.6, 0.5, 0.4, 0.5], None),
    }
    ax = plot_sweep(
        lambdas, curves, xlabel="λ", ylabel="loss", title="Weight decay sweep", logx=True
    )
    assert ax.get_xscale() == "log"
    assert ax.get_title() == "Weight decay sweep" and ax.get_xlabel() == "λ"
    assert legend_texts(ax) == ["train", "validation", "test"]
    assert matplotlib.colors.same_color(ax.get_lines()[1].get_color(), VAL_COLOR)


def test_plot_sweep_rejects_bad_input():
    with pytest.raises(ValueError, match="x > 0"):
        plot_sweep([0.0, 1.0], {"train": ([1, 2], None)}, "λ", "loss", "t", logx=True)
    with pytest.raises(ValueError, match="one value per x"):
        plot_sweep([1.0, 2.0], {"train": ([1, 2, 3], None)}, "λ", "loss", "t")
    with pytest.raises(ValueError, match="empty"):
        plot_sweep([1.0], {}, "λ", "loss", "t")


def test_plot_digit_grid():
    images = np.random.default_rng(0).random((12, 64))
    fig = plot_digit_grid(images, titles=list(range(12)), ncols=5, title="Some digits")
    assert len(fig.axes) == 15  # 3 rows of 5, the last 3 left empty
    assert fig.axes[0].get_title() == "0"
    with pytest.raises(ValueError, match="square"):
        plot_digit_grid(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="titles"):
        plot_digit_grid(images, titles=["a"])


def test_set_style_applies_house_rcparams():
    with matplotlib.rc_context():
        set_style()
        assert plt.rcParams["axes.spines.top"] is False
        assert plt.rcParams["figure.dpi"] == HOUSE_STYLE["figure.dpi"]


def test_plot_coefficient_path_draws_one_line_per_feature():
    alphas = np.geomspace(10, 0.01, 8)
    coefs = np.outer(1 / (1 + alphas), np.arange(1, 4))
    ax = plot_coefficient_path(alphas, coefs, feature_names=["a", "b", "c"], title="Lasso path")
    assert ax.get_title() == "Lasso path" and ax.get_xscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    plt.close("all")


def test_plot_coefficient_path_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        plot_coefficient_path([1.0, 0.1], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="> 0"):
        plot_coefficient_path([1.0, 0.0], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="feature_names"):
        plot_coefficient_path([1.0, 0.1], np.zeros((2, 2)), feature_names=["x"])


def test_plot_coefficient_path_with_shared_x_axes_stays_inverted():
    fig, axes = plt.subplots(1, 3, sharex=True)
    alphas = np.geomspace(10, 0.01, 5)
    for ax in axes:
        plot_coefficient_path(alphas, np.ones((5, 2)), ax=ax)
    assert all(ax.xaxis_inverted() for ax in axes)
    plt.close(fig)


def test_plot_sweep_colours_follow_meaning():
    from regcourse.plots import COLORS, NEUTRAL_COLORS, TRAIN_COLOR, VAL_COLOR

    curves = {
        name: ([1.0, 2.0], None)
        for name in ("train acc", "val acc", "plain", "weights at 0", "other", "mine")
    }
    ax = plot_sweep([1, 2], curves, "x", "y", "t", colors={"mine": "dropout"})
    drawn = [line.get_color() for line in ax.get_lines()]
    assert drawn == [
        TRAIN_COLOR,
        VAL_COLOR,
        COLORS["plain"],
        NEUTRAL_COLORS[0],
        NEUTRAL_COLORS[1],
        COLORS["dropout"],
    ]
    plt.close("all")


def test_house_colour_lookup_and_figure_size():
    from regcourse.plots import FIGURE_WIDTH, color, figure_size

    assert color("Batch Norm") == color("batch norm") != color("layer norm")
    assert color("plain") == color("baseline")
    with pytest.raises(ValueError, match="no house colour for 'groupnorm'"):
        color("groupnorm")
    assert figure_size(2, 2)[0] == FIGURE_WIDTH and figure_size()[0] <= FIGURE_WIDTH
    with pytest.raises(ValueError, match="at most 2 panels per row"):
        figure_size(3)
