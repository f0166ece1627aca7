"""Tests for regcourse.experiments: seeds, sweeps, mean ± std, paired comparisons, tables."""

import dataclasses
import math
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from regcourse.experiments import (
    CLAIMS_HEADER,
    NBSP,
    PairedDifference,
    SweepResult,
    Table,
    best_metric,
    claims_table,
    copy_to_torch,
    epochs_until,
    final_metric,
    format_mean_std,
    gap,
    mean_std,
    paired_difference,
    run_seeds,
    stack,
    summary_table,
    sweep,
)

PM = f"{NBSP}±{NBSP}"  # what format_mean_std writes between a mean and its std


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
    assert "±" in text and "no dropout" in text and f"0.900{PM}0.010" in text
    assert "—" in text  # missing train acc for the second row
    assert len({len(line) for line in text.splitlines()[:2]}) == 1  # header as wide as rule
    html = table._repr_html_()
    assert html.startswith('<div class="regcourse-table" style="overflow-x: auto"><table')
    assert "±" in html and ">val acc</th>" in html and "nowrap" not in html
    assert "padding" in html
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


def test_table_html_wraps_within_the_page_and_keeps_every_cell():
    table = summary_table(
        {
            "a long row name that should wrap": {"val acc": [0.90, 0.91], "gap": [0.1, 0.3]},
            "short": {"val acc": [0.95, 0.93]},
        }
    )
    html = table._repr_html_()
    assert "nowrap" not in html
    assert "white-space: normal" in html and "overflow-x: auto" in html
    assert html.count("<th ") == 3 and html.count("<td ") == 6  # header + 2 rows × 3 cells
    first_cells = re.findall(r"<tr><t[hd] style=\"([^\"]*)\"", html)
    assert len(first_cells) == 3 and all("text-align: left" in s for s in first_cells)
    assert "text-align: right" in html
    assert "0.905&nbsp;±&nbsp;0.007" in html  # a number never breaks around ±
    # A hand-written " ± " gets the no-break spaces too; plain text keeps its cells as given.
    hand = Table(["run", "acc"], [["x", "0.9 ± 0.1"]])
    assert "0.9&nbsp;±&nbsp;0.1" in hand._repr_html_()
    assert "0.9 ± 0.1" in str(hand)


def test_table_text_stays_aligned_with_no_break_spaces():
    table = summary_table({"a": {"x": [1.0, 2.0]}, "bb": {"x": [10.0]}})
    lines = str(table).splitlines()
    assert len({len(line) for line in lines}) == 1  # every line as wide: right-aligned column
    assert lines[2].endswith(f"1.500{PM}0.707") and lines[3].endswith("10.000")


# --- format_mean_std -----------------------------------------------------------


def test_format_mean_std_uses_sample_std_and_no_break_spaces():
    assert format_mean_std([0.90, 0.91, 0.89]) == f"0.900{PM}0.010"
    assert " " not in format_mean_std([0.90, 0.91, 0.89])  # only no-break spaces
    assert format_mean_std([0.912]) == "0.912"  # one value: nothing to spread
    assert format_mean_std(0.5, fmt="{:.1f}") == "0.5"


def test_format_mean_std_scale_and_sign():
    diffs = [0.013, 0.021, 0.029]
    assert format_mean_std(diffs, fmt="{:.1f}", scale=100, signed=True) == f"+2.1{PM}0.8"
    assert format_mean_std([-0.02, -0.04], fmt="{:.2f}", signed=True) == f"-0.03{PM}0.01"
    assert format_mean_std([0.0, 0.0], fmt="{:.1f}", signed=True) == f"+0.0{PM}0.0"
    # A signed fmt signs the mean only: a std has no sign.
    assert format_mean_std([1.0, 3.0], fmt="{:+.1f}") == f"+2.0{PM}1.4"


def test_format_mean_std_shows_nan_rather_than_hiding_it():
    assert format_mean_std([1.0, np.nan]) == f"nan{PM}nan"
    assert format_mean_std([np.nan], signed=True) == "nan"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(values=[]), "empty"),
        (dict(values=["a", "b"]), "numbers"),
        (dict(values=[[1.0, 2.0]]), "1-D"),
        (dict(values=[1.0], fmt="%.3f"), "fmt must be"),
        (dict(values=[1.0], fmt="{:d}"), "fmt must be"),
        (dict(values=[1.0], fmt=3), "fmt must be"),
        (dict(values=[1.0], scale=math.inf), "scale must be a finite number"),
        (dict(values=[1.0], scale="100"), "scale must be a finite number"),
        (dict(values=[1.0], signed="yes"), "signed must be True or False"),
    ],
)
def test_format_mean_std_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        format_mean_std(**kwargs)


# --- epochs_until ---------------------------------------------------------------


def test_epochs_until_counts_from_one_in_the_right_direction(histories):
    # val_acc of the first history: 0.0, 0.3, 0.4, 0.2 (1 - val_loss)
    assert epochs_until(histories[0], 0.3) == 2.0
    assert epochs_until(histories[0], 0.0) == 1.0
    assert math.isnan(epochs_until(histories[0], 0.5))
    # A loss reaches its target from above.
    assert epochs_until(histories[0], 0.5, key="train_loss") == 2.0
    assert epochs_until(histories[0], 0.6, key="val_loss") == 3.0
    assert isinstance(epochs_until(histories[0], 0.3), float)


def test_epochs_until_on_a_list_gives_an_array_with_nan_for_never(histories):
    # train_acc: 0.1, 0.5, 0.8, 0.9 and 0.2, 0.6, 0.8 (stopped early)
    epochs = epochs_until(histories, 0.85, key="train_acc")
    assert isinstance(epochs, np.ndarray) and epochs.shape == (2,)
    assert epochs[0] == 4.0 and np.isnan(epochs[1])
    assert np.array_equal(epochs_until(histories, 0.55, key="train_acc"), [3.0, 2.0])


def test_epochs_until_rejects_bad_input(histories):
    with pytest.raises(ValueError, match="key must be one of"):
        epochs_until(histories, 0.9, key="accuracy")
    with pytest.raises(ValueError, match="target must be a finite number"):
        epochs_until(histories, math.nan)
    with pytest.raises(ValueError, match="target must be a finite number"):
        epochs_until(histories, "0.9")
    with pytest.raises(ValueError, match="empty"):
        epochs_until([], 0.9)


# --- paired_difference ------------------------------------------------------------


def test_paired_difference_hand_computed():
    # d = b - a = [1, 2, 2]: mean 5/3, s^2 = (4/9 + 1/9 + 1/9) / 2 = 1/3.
    result = paired_difference([1.0, 2.0, 3.0], [2.0, 4.0, 5.0])
    # For 2 degrees of freedom the t quantile has a closed form: (2p - 1) / sqrt(2p(1 - p)).
    p = 0.975
    t = (2 * p - 1) / math.sqrt(2 * p * (1 - p))  # 4.3027
    half = t * math.sqrt(1 / 3) / math.sqrt(3)
    assert result.mean == pytest.approx(5 / 3)
    assert result.std == pytest.approx(math.sqrt(1 / 3))
    assert result.low == pytest.approx(5 / 3 - half)
    assert result.high == pytest.approx(5 / 3 + half)
    assert (result.n, result.confidence) == (3, 0.95)
    assert result.excludes_zero
    assert isinstance(result, PairedDifference)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.mean = 0.0


def test_paired_difference_text():
    result = PairedDifference(mean=0.021, std=0.01, low=0.008, high=0.034, n=5, confidence=0.95)
    assert result.format() == f"+0.021 [+0.008,{NBSP}+0.034]"  # never broken inside
    assert result.format("{:+.1f}", scale=100) == f"+2.1 [+0.8,{NBSP}+3.4]"
    assert str(result) == "+0.021 (95% CI +0.008 to +0.034, 5 paired seeds)"
    other = PairedDifference(mean=-0.01, std=0.02, low=-0.03, high=0.01, n=8, confidence=0.9)
    assert str(other) == "-0.010 (90% CI -0.030 to +0.010, 8 paired seeds)"
    assert not other.excludes_zero
    with pytest.raises(ValueError, match="fmt must be"):
        result.format("{}{}")


def test_paired_interval_agrees_with_scipy_ttest_rel():
    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(2, 12))
        a = rng.normal(0.8, 0.05, n)
        b = a + rng.normal(rng.uniform(-0.03, 0.03), 0.02, n)
        p_value = stats.ttest_rel(b, a).pvalue
        for confidence in (0.8, 0.95, 0.99):
            result = paired_difference(a, b, confidence)
            assert result.excludes_zero == (p_value < 1 - confidence), (trial, confidence)
        assert result.mean == pytest.approx(np.mean(b - a))


def test_paired_interval_covers_the_true_difference_95_percent_of_the_time():
    rng = np.random.default_rng(2024)
    true_difference, n_draws, covered = 0.02, 2000, 0
    for _ in range(n_draws):
        seed_luck = rng.normal(0.0, 0.05, 5)  # shared by both settings on a seed
        a = 0.80 + seed_luck + rng.normal(0.0, 0.01, 5)
        b = 0.80 + true_difference + seed_luck + rng.normal(0.0, 0.01, 5)
        result = paired_difference(a, b)
        covered += result.low <= true_difference <= result.high
    assert 0.93 <= covered / n_draws <= 0.97


def test_pairing_resolves_what_mean_std_bars_cannot():
    a = np.array([0.80, 0.85, 0.90, 0.83, 0.88])
    b = a + np.array([0.010, 0.020, 0.015, 0.012, 0.018])  # better on every seed
    (mean_a, std_a), (mean_b, std_b) = mean_std(a), mean_std(b)
    assert mean_a + std_a > mean_b - std_b  # the bars overlap...
    assert paired_difference(a, b).excludes_zero  # ...the pairs settle it


@pytest.mark.parametrize(
    "a, b, kwargs, message",
    [
        ([0.9], [0.8], {}, "at least 2 seeds"),
        ([0.9, 0.8], [0.8, 0.7, 0.6], {}, "same length"),
        ([[0.9, 0.8]], [[0.8, 0.7]], {}, "1-D"),
        ([0.9, np.nan], [0.8, 0.7], {}, "nan"),
        ([0.9, 0.8], [0.8, np.inf], {}, "finite"),
        ([], [], {}, "empty"),
        ([0.9, 0.8], [0.8, 0.7], dict(confidence=95), "strictly between 0 and 1"),
        ([0.9, 0.8], [0.8, 0.7], dict(confidence=1.0), "strictly between 0 and 1"),
    ],
)
def test_paired_difference_rejects_bad_input(a, b, kwargs, message):
    with pytest.raises(ValueError, match=message):
        paired_difference(a, b, **kwargs)


# --- sweep ----------------------------------------------------------------------


def test_sweep_runs_values_outer_seeds_inner_and_returns_tidy_records():
    calls = []

    def run(lam, seed):
        calls.append((lam, seed))
        return {"val_acc": 0.9 - lam + seed / 100, "gap": lam * 10}

    result = sweep(run, [0.0, 0.1, 0.2], seeds=range(3), name="lam")
    assert calls == [(lam, seed) for lam in (0.0, 0.1, 0.2) for seed in range(3)]
    assert isinstance(result, SweepResult)
    assert result.values == [0.0, 0.1, 0.2] and result.seeds == [0, 1, 2]
    assert result.metrics == ["val_acc", "gap"]
    assert len(result.records) == 9
    assert result.records[4] == {"lam": 0.1, "seed": 1, "val_acc": pytest.approx(0.81), "gap": 1.0}
    assert result.histories is None
    assert np.allclose(result.get("val_acc", 0.1), [0.80, 0.81, 0.82])
    means, stds = result.mean_std("val_acc")
    assert np.allclose(means, [0.91, 0.81, 0.71]) and np.allclose(stds, 0.01)
    assert result.best("val_acc") == 0.0
    assert result.best("gap", mode="min") == 0.0
    assert result.best("gap", mode="max") == 0.2
    assert "lam" in repr(result) and "3 values × 3 seeds" in repr(result)


def test_sweep_table_shows_mean_std_per_value():
    result = sweep(lambda p, seed: {"acc": p + seed, "loss": 1.0}, [1, 2], [0, 1], name="p")
    table = result.table()
    assert table.header == ["p", "acc", "loss"]
    assert [row[0] for row in table.rows] == ["1", "2"]
    assert table.rows[0][1] == f"1.500{PM}0.707"
    assert table.stats[2]["acc"] == pytest.approx((2.5, math.sqrt(0.5)))
    only = result.table("loss", fmt="{:.1f}")
    assert only.header == ["p", "loss"] and only.rows[1] == ["2", f"1.0{PM}0.0"]
    with pytest.raises(ValueError, match="metric must be one of acc, loss"):
        result.table(["accuracy"])


def test_sweep_over_histories_records_final_metrics_gap_and_best_epoch(histories):
    result = sweep(lambda value, seed: histories[seed], ["x"], [0, 1], name="setting")
    assert result.metrics == ["train_loss", "val_loss", "train_acc", "val_acc", "gap", "best_epoch"]
    assert np.allclose(result.get("val_loss", "x"), [0.8, 0.7])
    assert np.allclose(result.get("train_acc", "x"), [0.9, 0.8])
    assert np.allclose(result.get("gap", "x"), [0.8 - 0.1, 0.7 - 0.2])
    assert np.allclose(result.get("best_epoch", "x"), [2, 1])
    assert result.histories == {"x": histories}


def test_sweep_table_leaves_out_metrics_that_are_always_nan(histories):
    regression = [
        SimpleNamespace(
            **{
                **vars(h),
                "train_acc": [math.nan] * len(h.train_acc),
                "val_acc": [math.nan] * len(h.val_acc),
            }
        )
        for h in histories
    ]
    result = sweep(lambda value, seed: regression[seed], [1], [0, 1])
    assert "val_acc" in result.metrics
    assert result.table().header == ["value", "train_loss", "val_loss", "gap", "best_epoch"]
    with pytest.raises(ValueError, match="every mean of val_acc is nan"):
        result.best("val_acc")


def test_sweep_result_get_and_best_reject_unknown_names():
    result = sweep(lambda v, s: {"acc": v}, [1, 2], [0], name="width")
    with pytest.raises(ValueError, match="metric must be one of acc"):
        result.get("loss", 1)
    with pytest.raises(ValueError, match=r"width must be one of \[1, 2\]"):
        result.get("acc", 3)
    with pytest.raises(ValueError, match="mode must be 'max' or 'min'"):
        result.best("acc", mode="maximum")


@pytest.mark.parametrize(
    "run_fn, values, seeds, message",
    [
        (lambda v, s: {"acc": 1.0}, [], [0], "values is empty"),
        (lambda v, s: {"acc": 1.0}, [1], [], "seeds is empty"),
        (lambda v, s: {"acc": 1.0}, [1], [0.5], "integer"),
        (lambda v, s: {"acc": 1.0}, [1, 1], [0], "values must be distinct"),
        (lambda v, s: {"acc": 1.0}, [1], [0, 0], "seeds must be distinct"),
        (lambda v, s: {"acc": 1.0}, [[1, 2]], [0], "hashable"),
        (lambda v, s: 0.9, [1], [0], "dict of scalar metrics or a History"),
        (lambda v, s: {"acc": [0.9, 0.8]}, [1], [0], "single number"),
        (lambda v, s: {"acc": "high"}, [1], [0], "single number"),
        (lambda v, s: {"acc": 1.0, "seed": s}, [1], [0], "rename the metric"),
        (lambda v, s: {"acc": 1.0} if s == 0 else {"loss": 1.0}, [1], [0, 1], "missing"),
        (lambda v, s: {"acc": 1.0} if s == 0 else {"acc": 1, "x": 2}, [1], [0, 1], "unexpected"),
    ],
)
def test_sweep_rejects_bad_input(run_fn, values, seeds, message):
    with pytest.raises(ValueError, match=message):
        sweep(run_fn, values, seeds)


def test_sweep_rejects_mixed_results_and_bad_names(histories):
    as_dict = {
        key: 1.0 for key in ("train_loss", "val_loss", "train_acc", "val_acc", "gap", "best_epoch")
    }
    with pytest.raises(ValueError, match="some runs and a dict for others"):
        sweep(lambda v, s: as_dict if v else histories[0], [0, 1], [0])
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        sweep(lambda v, s: {"acc": 1.0}, [1], [0], name="seed")


def test_sweep_accepts_numpy_and_torch_scalars():
    torch = pytest.importorskip("torch")
    result = sweep(
        lambda v, s: {"a": np.float32(v), "b": torch.tensor(2.0), "c": np.array(3)}, [1], [0]
    )
    assert result.records[0] == {"value": 1, "seed": 0, "a": 1.0, "b": 2.0, "c": 3.0}


def test_sweep_result_from_hand_made_records_checks_the_grid():
    records = [{"lr": lr, "seed": s, "acc": lr * s} for lr in (0.1, 1.0) for s in (3, 4)]
    result = SweepResult(records, name="lr")
    assert result.values == [0.1, 1.0] and result.seeds == [3, 4]
    assert np.allclose(result.get("acc", 1.0), [3.0, 4.0])
    with pytest.raises(ValueError, match=r"no run for lr=1.0, seed=4"):
        SweepResult(records[:-1], name="lr")
    with pytest.raises(ValueError, match="appears twice"):
        SweepResult(records + records[:1], name="lr")
    with pytest.raises(ValueError, match="keys 'lr' and 'seed'"):
        SweepResult([{"seed": 0, "acc": 1.0}], name="lr")
    with pytest.raises(ValueError, match="records is empty"):
        SweepResult([], name="lr")


# --- copy_to_torch --------------------------------------------------------------


def test_experiments_imports_without_torch():
    code = "import sys, regcourse.experiments; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _twin_with_batch_norm(side, **kwargs):
    return side.Sequential(
        side.Linear(6, 5, **kwargs),
        side.BatchNorm1d(5, **kwargs),
        side.ReLU(),
        side.Linear(5, 3, **kwargs),
    )


def test_copy_to_torch_makes_mlp_twins_agree_in_float64():
    torch = pytest.importorskip("torch")
    import regcourse.numpy as rnp
    import regcourse.torch as rt

    np_model = rnp.mlp([6, 8, 3])
    t_model = rt.mlp([6, 8, 3], dtype=torch.float64)
    assert copy_to_torch(np_model, t_model) is t_model
    x = np.random.default_rng(0).normal(size=(10, 6))
    with torch.no_grad():
        out = t_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, np_model(x), rtol=1e-12, atol=1e-12)
    assert t_model[0].weight.requires_grad  # still a trainable parameter


def test_copy_to_torch_copies_batch_norm_buffers():
    torch = pytest.importorskip("torch")
    import regcourse.numpy as rnp
    import regcourse.torch as rt

    np_model = _twin_with_batch_norm(rnp)
    x = np.random.default_rng(1).normal(size=(16, 6))
    for _ in range(3):  # move the running statistics away from their start
        np_model(x + np.random.default_rng(_).normal(size=x.shape))
    t_model = copy_to_torch(np_model, _twin_with_batch_norm(rt, dtype=torch.float64))
    buffers = t_model.state_dict()
    assert buffers["1.num_batches_tracked"].item() == 3
    assert buffers["1.num_batches_tracked"].dtype == torch.long
    np.testing.assert_allclose(buffers["1.running_var"].numpy(), np_model[1].running_var)
    np_model.eval(), t_model.eval()
    with torch.no_grad():
        out = t_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, np_model(x), rtol=1e-12, atol=1e-12)


def test_copy_to_torch_casts_to_the_models_dtype():
    torch = pytest.importorskip("torch")
    import regcourse.numpy as rnp
    import regcourse.torch as rt

    np_model = rnp.mlp([6, 8, 3])
    t_model = copy_to_torch(np_model, rt.mlp([6, 8, 3]))  # float32, torch's default
    assert t_model[0].weight.dtype == torch.float32
    x = np.random.default_rng(2).normal(size=(10, 6))
    with torch.no_grad():
        out = t_model(torch.tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out, np_model(x), rtol=1e-5, atol=1e-5)


def test_copy_to_torch_keeps_the_models_device_meta():
    pytest.importorskip("torch")
    import regcourse.numpy as rnp
    import regcourse.torch as rt

    t_model = copy_to_torch(_twin_with_batch_norm(rnp), _twin_with_batch_norm(rt, device="meta"))
    assert all(t.device.type == "meta" for t in t_model.state_dict().values())


def test_copy_to_torch_rejects_models_that_do_not_match():
    torch = pytest.importorskip("torch")
    import regcourse.numpy as rnp
    import regcourse.torch as rt

    t_model = rt.mlp([6, 8, 3])
    before = t_model[0].weight.detach().clone()
    missing = r"lacks \[.*'1.running_mean'.*unexpected \['2.bias', '2.weight'\]"
    with pytest.raises(ValueError, match=missing):
        copy_to_torch(rnp.mlp([6, 5, 3]), _twin_with_batch_norm(rt))
    with pytest.raises(ValueError, match=r"shape mismatch for '0.weight'.*\(5, 6\).*\(8, 6\)"):
        copy_to_torch(rnp.mlp([6, 5, 3]), t_model)
    assert torch.equal(t_model[0].weight, before)  # nothing copied before the check failed
    with pytest.raises(ValueError, match="NumPy model comes first"):
        copy_to_torch(t_model, t_model)
    with pytest.raises(ValueError, match="torch_model must be a torch.nn.Module"):
        copy_to_torch(rnp.mlp([6, 8, 3]), rnp.mlp([6, 8, 3]))


def test_table_markdown_is_what_the_pdf_shows():
    table = Table(["name", "value"], [["a|b", "1 ± 2"]])
    lines = table._repr_markdown_().splitlines()
    assert lines[0] == "| name | value |"
    assert lines[1] == "|:---|---:|"  # text left, numbers right
    assert lines[2] == f"| a\\|b | 1{PM}2 |"


def test_claims_table_is_one_format_left_aligned():
    table = claims_table([("Dropout helps.", "0.91 ± 0.01 vs 0.90 ± 0.01", "not measurable")])
    assert table.header == CLAIMS_HEADER and table.align == "lll"
    assert "text-align: right" not in table._repr_html_()
    with pytest.raises(ValueError, match="claims is empty"):
        claims_table([])
    with pytest.raises(ValueError, match=r"\(claim, measured, verdict\)"):
        claims_table([("only a claim", "no verdict")])


def test_table_align_is_checked():
    with pytest.raises(ValueError, match="one of 'l' or 'r' per column"):
        Table(["a", "b"], [["1", "2"]], align="l")
    with pytest.raises(ValueError, match="one of 'l' or 'r' per column"):
        Table(["a", "b"], [["1", "2"]], align="lc")


# ---------------------------------------------------------------------------
# Run profiles
# ---------------------------------------------------------------------------


def test_profile_is_quick_when_unset(monkeypatch):
    from regcourse.experiments import by_profile, run_profile

    monkeypatch.delenv("REGCOURSE_PROFILE", raising=False)
    assert run_profile() == "quick"
    assert by_profile(quick=5, full=20) == 5
    monkeypatch.setenv("REGCOURSE_PROFILE", "")
    assert run_profile() == "quick"


def test_full_profile_picks_the_full_value(monkeypatch):
    from regcourse.experiments import by_profile, run_profile

    monkeypatch.setenv("REGCOURSE_PROFILE", "full")
    assert run_profile() == "full"
    assert by_profile(quick=range(5), full=range(20)) == range(20)


@pytest.mark.parametrize("value", ["fast", "Full", "slow", "1"])
def test_unknown_profile_is_an_error_naming_the_allowed_ones(monkeypatch, value):
    from regcourse.experiments import by_profile

    monkeypatch.setenv("REGCOURSE_PROFILE", value)
    with pytest.raises(ValueError, match=r"REGCOURSE_PROFILE must be one of quick, full"):
        by_profile(1, 2)


def test_profile_note_says_which_profile_produced_the_page(monkeypatch):
    from regcourse.experiments import profile_note

    monkeypatch.delenv("REGCOURSE_PROFILE", raising=False)
    note = profile_note("5 seeds per setting.", "20 seeds")
    assert note._repr_markdown_().startswith("**Run profile: quick** (the default)")
    assert "This page: 5 seeds per setting." in str(note)
    assert "`REGCOURSE_PROFILE=full`) runs 20 seeds." in str(note)
    monkeypatch.setenv("REGCOURSE_PROFILE", "full")
    assert str(profile_note("20 seeds per setting")).startswith("**Run profile: full**")


@pytest.mark.parametrize("this_run", ["", "   ", None, 5])
def test_profile_note_needs_a_description(this_run):
    from regcourse.experiments import profile_note

    with pytest.raises(ValueError, match="this_run must"):
        profile_note(this_run)


def test_standard_task_follows_the_profile(monkeypatch):
    from regcourse.benchmark import StandardTask

    monkeypatch.delenv("REGCOURSE_PROFILE", raising=False)
    assert StandardTask().seeds == (0, 1, 2, 3, 4)
    assert StandardTask().tuning_seeds == (100,)
    monkeypatch.setenv("REGCOURSE_PROFILE", "full")
    assert StandardTask().seeds == tuple(range(10))
    assert len(StandardTask().tuning_seeds) == 3
    assert StandardTask(seeds=(7,)).seeds == (7,)  # explicit seeds win
