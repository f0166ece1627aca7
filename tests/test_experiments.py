"""Tests for regcourse.experiments: seeds, mean ± std, stacking histories, tables."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from regcourse.experiments import (
    Table,
    best_metric,
    final_metric,
    gap,
    mean_std,
    run_seeds,
    stack,
    summary_table,
)


def fake_history(train_loss, val_loss, best_epoch=None):
    """A History-like object: accuracies are 1 - loss, best epoch from val_loss."""
    if best_epoch is None:
        best_epoch = int(np.argmin(val_loss))
    return SimpleNamespace(
        train_loss=list(train_loss),
        val_loss=list(val_loss),
        train_acc=[1 - v for v in train_loss],
        val_acc=[1 - v for v in val_loss],
        best_epoch=best_epoch,
    )


@pytest.fixture
def histories():
    return [
        fake_history([0.9, 0.5, 0.2, 0.1], [1.0, 0.7, 0.6, 0.8]),
        fake_history([0.8, 0.4, 0.2], [0.9, 0.6, 0.7]),  # stopped early
    ]


def test_run_seeds_calls_in_order():
    assert run_seeds(lambda seed: seed * 10, range(3)) == [0, 10, 20]


def test_run_seeds_rejects_empty_and_non_integer_seeds():
    with pytest.raises(ValueError, match="empty"):
        run_seeds(lambda seed: seed, [])
    with pytest.raises(ValueError, match="integer"):
        run_seeds(lambda seed: seed, [0.5])


def test_mean_std_uses_sample_std():
    mean, std = mean_std([1.0, 2.0, 3.0, 4.0])
    assert mean == pytest.approx(2.5)
    assert std == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert mean_std([7.0]) == (7.0, 0.0)


def test_mean_std_over_seeds_per_epoch():
    mean, std = mean_std(np.array([[1.0, 2.0], [3.0, 2.0]]))
    assert np.allclose(mean, [2.0, 2.0])
    assert np.allclose(std, [math.sqrt(2), 0.0])


def test_mean_std_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        mean_std([])


def test_stack_truncates_to_shortest(histories):
    stacked = stack(histories, "val_loss")
    assert stacked.shape == (2, 3)
    assert np.allclose(stacked[0], [1.0, 0.7, 0.6])


def test_final_and_best_metric(histories):
    assert np.allclose(final_metric(histories, "val_loss"), [0.8, 0.7])
    assert np.allclose(best_metric(histories, "val_loss"), [0.6, 0.6])
    assert np.allclose(best_metric(histories, "train_loss"), [0.2, 0.4])
    # A single History is accepted as well as a list.
    assert np.allclose(final_metric(histories[0], "train_acc"), [0.9])


def test_bad_keys_and_empty_histories(histories):
    with pytest.raises(ValueError, match="key must be one of"):
        stack(histories, "val_accuracy")
    with pytest.raises(ValueError, match="empty"):
        final_metric([], "val_loss")
    with pytest.raises(ValueError, match="best_epoch"):
        best_metric([fake_history([0.1], [0.2], best_epoch=5)], "val_loss")


def test_gap_is_final_val_minus_train(histories):
    assert gap(histories[0]) == pytest.approx(0.8 - 0.1)
    with pytest.raises(ValueError, match="no epochs"):
        gap(fake_history([], [], best_epoch=-1))


def test_summary_table_text_and_html():
    table = summary_table(
        {
            "no dropout": {"train acc": [1.0, 1.0, 1.0], "val acc": [0.90, 0.91, 0.89]},
            "dropout 0.5": {"val acc": [0.94, 0.95, 0.93]},
        }
    )
    text = str(table)
    assert "±" in text and "no dropout" in text and "0.900 ± 0.010" in text
    assert "—" in text  # missing train acc for the second row
    assert len({len(line) for line in text.splitlines()[:2]}) == 1  # header as wide as rule
    html = table._repr_html_()
    assert html.startswith("<table") and "±" in html and ">val acc</th>" in html and "padding" in html
    assert table.stats["dropout 0.5"]["val acc"] == pytest.approx((0.94, 0.01))
    assert repr(table) == text


def test_summary_table_single_value_and_format():
    table = summary_table({"run": {"loss": [0.12345]}}, fmt="{:.2f}")
    assert "0.12" in str(table) and "±" not in str(table)


def test_table_checks_row_lengths_and_escapes_html():
    with pytest.raises(ValueError, match="cells"):
        Table(["a", "b"], [["only one"]])
    assert "&lt;b&gt;" in Table(["x"], [["<b>"]])._repr_html_()
    with pytest.raises(ValueError, match="empty"):
        summary_table({})
