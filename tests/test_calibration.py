"""Calibration: bins, expected calibration error (Guo et al. 2017) and the reliability diagram."""

import matplotlib

matplotlib.use("Agg")  # no display needed; set before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from regcourse.experiments import (  # noqa: E402
    CalibrationBins,
    calibration_bins,
    expected_calibration_error,
)
from regcourse.plots import OTHER_COLORS, plot_reliability_diagram  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def calibrated_sample(n, n_classes=3, seed=0, temperature=1.0):
    """Probabilities from a Dirichlet, labels drawn from them: calibrated by construction.

    ``temperature`` < 1 sharpens the reported probabilities (p ** (1/T), renormalized)
    while the labels still follow the original ones: an over-confident model.
    """
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(n_classes), size=n)
    cumulative = probs.cumsum(axis=1)
    y = (rng.random((n, 1)) > cumulative).sum(axis=1)  # y ~ Categorical(probs)
    y = np.minimum(y, n_classes - 1)  # guards the rounding of the last cumulative sum
    reported = probs ** (1 / temperature)
    return reported / reported.sum(axis=1, keepdims=True), y


# A tiny over-confident example, worked by hand (5 bins of width 0.2):
#   4 samples predicted class 0 with confidence 0.9, 2 of them right: bin (0.8, 1],
#     conf 0.9, acc 0.5, gap 0.4;
#   2 samples predicted class 1 with confidence 0.7, 1 of them right: bin (0.6, 0.8],
#     conf 0.7, acc 0.5, gap 0.2;
#   ECE = 4/6 * 0.4 + 2/6 * 0.2 = 1.6/6 + 0.4/6 = 1/3.
HAND_PROBS = np.array([[0.9, 0.1]] * 4 + [[0.3, 0.7]] * 2)
HAND_Y = np.array([0, 0, 1, 1, 1, 0])


def test_hand_worked_over_confident_example():
    bins = calibration_bins(HAND_PROBS, HAND_Y, n_bins=5)
    np.testing.assert_allclose(bins.edges, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_array_equal(bins.count, [0, 0, 0, 2, 4])
    np.testing.assert_allclose(bins.confidence[3:], [0.7, 0.9])
    np.testing.assert_allclose(bins.accuracy[3:], [0.5, 0.5])
    assert np.isnan(bins.confidence[:3]).all() and np.isnan(bins.accuracy[:3]).all()
    assert expected_calibration_error(HAND_PROBS, HAND_Y, n_bins=5) == pytest.approx(1 / 3)
    assert bins.ece == pytest.approx(1 / 3)


def test_one_bin_ece_is_the_gap_between_mean_confidence_and_accuracy():
    # mean confidence (4 * 0.9 + 2 * 0.7) / 6 = 5/6, accuracy 3/6: ECE = 1/3 again
    assert expected_calibration_error(HAND_PROBS, HAND_Y, n_bins=1) == pytest.approx(1 / 3)


def test_a_confidence_on_an_edge_belongs_to_the_bin_it_closes():
    probs = np.array([[0.5, 0.5], [0.6, 0.4], [1.0, 0.0]])
    bins = calibration_bins(probs, np.array([0, 0, 0]), n_bins=10)
    # 0.5 -> (0.4, 0.5], 0.6 -> (0.5, 0.6], 1.0 -> (0.9, 1.0]
    np.testing.assert_array_equal(np.flatnonzero(bins.count), [4, 5, 9])


@pytest.mark.parametrize("n_bins", [1, 10, 15])
def test_calibrated_model_has_ece_near_zero(n_bins):
    """Each bin's accuracy has variance <= 1/(4 n_b) around its confidence, so
    E[ECE] <= sum_b (n_b/N) / (2 sqrt(n_b)) <= (1/2) sqrt(M / N) = 0.0043 for M = 15,
    N = 200,000; twice that bound leaves room for the fluctuation of one sample."""
    n = 200_000
    probs, y = calibrated_sample(n)
    assert expected_calibration_error(probs, y, n_bins) < 2 * 0.5 * np.sqrt(n_bins / n)


def test_over_confident_model_has_a_large_ece():
    probs, y = calibrated_sample(50_000, temperature=0.5)
    bins = calibration_bins(probs, y)
    filled = bins.count > 0
    assert bins.ece > 0.05
    assert (bins.accuracy[filled] <= bins.confidence[filled] + 0.01).all()  # under the diagonal


def test_bins_count_every_sample_and_confidences_lie_in_their_bins():
    probs, y = calibrated_sample(1000, n_classes=10, seed=3)
    bins = calibration_bins(probs, y, n_bins=7)
    assert isinstance(bins, CalibrationBins)
    assert bins.count.sum() == bins.n == 1000
    assert bins.edges.shape == (8,) and bins.confidence.shape == bins.accuracy.shape == (7,)
    filled = bins.count > 0
    assert (bins.confidence[filled] > bins.edges[:-1][filled]).all()
    assert (bins.confidence[filled] <= bins.edges[1:][filled]).all()
    assert ((bins.accuracy[filled] >= 0) & (bins.accuracy[filled] <= 1)).all()


def test_torch_tensors_and_float32_softmax_are_accepted():
    logits = torch.randn(500, 10, generator=torch.Generator().manual_seed(0))
    probs, y = torch.softmax(logits, dim=1).requires_grad_(), torch.randint(0, 10, (500,))
    expected = expected_calibration_error(probs.detach().double().numpy(), y.numpy())
    assert expected_calibration_error(probs, y) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "probs, y, n_bins, message",
    [
        (np.full(4, 0.5), np.zeros(4, dtype=int), 15, r"shape \(N, C\)"),
        (np.zeros((0, 3)), np.zeros(0, dtype=int), 15, r"shape \(N, C\)"),
        (HAND_PROBS, HAND_Y[:5], 15, r"y must have shape \(6,\)"),
        (HAND_PROBS, HAND_Y.reshape(3, 2), 15, r"y must have shape \(6,\)"),
        (HAND_PROBS * 1.1, HAND_Y, 15, r"sum to 1 \(within 1e-05\); row 0 sums to 1.1"),
        (np.array([[2.0, -1.0]]), np.array([0]), 15, "finite probabilities >= 0"),
        (np.array([[np.nan, 1.0]]), np.array([0]), 15, "finite probabilities >= 0"),
        (np.array([["a", "b"]]), np.array([0]), 15, "probs must hold numbers"),
        (HAND_PROBS, HAND_Y + 1, 15, r"lie in \[0, 1\] for 2 classes, got range \[1, 2\]"),
        (HAND_PROBS, HAND_Y - 1, 15, r"labels must lie in \[0, 1\]"),
        (HAND_PROBS, HAND_Y.astype(float), 15, "integer class labels"),
        (HAND_PROBS, HAND_Y, 0, "n_bins must be a positive integer, got 0"),
        (HAND_PROBS, HAND_Y, 2.5, "n_bins must be a positive integer"),
        (HAND_PROBS, HAND_Y, True, "n_bins must be a positive integer"),
    ],
    ids=[
        "1-D probs",
        "empty",
        "short y",
        "2-D y",
        "rows sum to 1.1",
        "negative",
        "nan",
        "strings",
        "label too big",
        "negative label",
        "float labels",
        "n_bins 0",
        "n_bins float",
        "n_bins bool",
    ],
)
def test_bad_inputs_raise(probs, y, n_bins, message):
    with pytest.raises(ValueError, match=message):
        calibration_bins(probs, y, n_bins)
    with pytest.raises(ValueError, match=message):
        expected_calibration_error(probs, y, n_bins)
    with pytest.raises(ValueError, match=message):
        plot_reliability_diagram(probs, y, n_bins)


def test_reliability_diagram_draws_the_diagonal_the_bins_and_the_ece():
    ax = plot_reliability_diagram(HAND_PROBS, HAND_Y, n_bins=5, label="tiny")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["perfect calibration", "tiny (ECE = 0.333)"]
    diagonal, curve = ax.get_lines()
    np.testing.assert_allclose(diagonal.get_xydata(), [[0, 0], [1, 1]])
    np.testing.assert_allclose(curve.get_xydata(), [[0.7, 0.5], [0.9, 0.5]])  # empty bins skipped
    assert ax.get_title() == "Reliability diagram (5 bins)"
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)
    assert ax.get_xlabel().startswith("confidence") and ax.get_ylabel().startswith("accuracy")


def test_several_models_on_one_axes_get_one_diagonal_and_their_own_colours():
    _, ax = plt.subplots()
    calibrated, y = calibrated_sample(5000)
    sharp, y_sharp = calibrated_sample(5000, temperature=0.5)
    assert plot_reliability_diagram(calibrated, y, ax=ax, label="calibrated") is ax
    plot_reliability_diagram(sharp, y_sharp, ax=ax, label="over-confident")
    plot_reliability_diagram(sharp, y_sharp, ax=ax, color="k")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0] == "perfect calibration" and len(texts) == 4
    assert texts[1].startswith("calibrated (ECE = ") and texts[3].startswith("ECE = ")
    colours = [line.get_color() for line in ax.get_lines()[1:]]
    assert matplotlib.colors.same_color(colours[0], OTHER_COLORS[0])
    assert matplotlib.colors.same_color(colours[1], OTHER_COLORS[1])
    assert matplotlib.colors.same_color(colours[2], "k")


def test_reliability_diagram_rejects_a_bad_colour():
    with pytest.raises(ValueError, match="color must be a matplotlib colour"):
        plot_reliability_diagram(HAND_PROBS, HAND_Y, color="not-a-colour")
