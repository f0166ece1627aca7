"""regcourse.speed: the NumPy-vs-torch epoch timer, its exponent fit, tables and command line.

The real runs here are tiny (one small size, one width, one round): they check that the
benchmark runs and returns sensible numbers, not how fast anything is.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from regcourse import speed
from regcourse.experiments import Table, copy_to_torch

TINY = dict(sizes=[40], hidden=[8], channels=[4], width_size=40, repeats=1)


# --- the exponent fit ---------------------------------------------------------------------


@pytest.mark.parametrize("b", [0.5, 1.0, 1.3, 2.0])
@pytest.mark.parametrize("c", [0.01, 3.0])
def test_growth_exponent_recovers_b_of_a_power_law(b, c):
    n = np.array([250, 500, 1000, 2000])
    assert speed.growth_exponent(n, c * n**b) == pytest.approx(b, abs=1e-10)


def test_growth_exponent_is_a_least_squares_fit_through_noise():
    rng = np.random.default_rng(0)
    n = np.geomspace(100, 10_000, 20)
    t = 2.0 * n**1.1 * np.exp(rng.normal(0, 0.05, size=n.size))  # 5% multiplicative noise
    assert speed.growth_exponent(n, t) == pytest.approx(1.1, abs=0.05)
    assert speed.growth_exponent(n, t) == pytest.approx(np.polyfit(np.log(n), np.log(t), 1)[0])


@pytest.mark.parametrize(
    "x, t, message",
    [
        ([1, 2, 3], [1, 2], "same length"),
        ([1, 2], [1, 0], "positive"),
        ([0, 2], [1, 2], "positive"),
        ([1, 2], [1, float("nan")], "positive"),
        ([5, 5], [1, 2], "two distinct"),
        ([5], [1], "two distinct"),
    ],
)
def test_growth_exponent_rejects_what_it_cannot_fit(x, t, message):
    with pytest.raises(ValueError, match=message):
        speed.growth_exponent(x, t)


# --- the result and its tables, on synthetic timings ----------------------------------------


def synthetic_result(b_numpy=1.0, b_torch=0.8, repeats=2) -> speed.SpeedResult:
    """A SpeedResult of two models with timings t = n^b (sizes) and t = width^b (widths)."""
    models, sizes, timings, widths = ("mnist1d-mlp", "mnist1d-cnn"), (250, 500, 1000), [], {}
    for model, ws in zip(models, [(32, 128), (8, 64)]):
        widths[model] = ws
        default = speed.MODELS[model].default_width
        points = [(n, default) for n in sizes] + [(1000, w) for w in ws]
        for n, w in dict.fromkeys(points):
            scale = n if w == default else w
            np_ms = tuple([scale**b_numpy * (1 + 0.1 * r) for r in range(repeats)])
            t_ms = tuple([scale**b_torch * (1 + 0.1 * r) for r in range(repeats)])
            timings.append(speed.Timing(model, n, w, np_ms, t_ms))
    return speed.SpeedResult(timings, models, sizes, widths, width_size=1000, repeats=repeats)


def test_timing_reports_the_fastest_round_and_the_ratio():
    timing = speed.Timing("digits-mlp", 100, 32, (5.0, 4.0, 6.0), (2.5, 2.0, 3.0))
    assert (timing.numpy, timing.torch, timing.ratio) == (4.0, 2.0, 2.0)


def test_exponents_of_the_synthetic_sweeps():
    result = synthetic_result(b_numpy=1.0, b_torch=0.8)
    for model in result.models:
        assert result.exponent(model, "numpy") == pytest.approx(1.0)
        assert result.exponent(model, "torch") == pytest.approx(0.8)
        assert result.exponent(model, "numpy", over="width") == pytest.approx(1.0)
        assert result.exponent(model, "torch", over="width") == pytest.approx(0.8)
        x, t = result.size_curve(model, "numpy")
        assert list(x) == [250, 500, 1000] and np.allclose(t, x)
        assert np.allclose(result.ratios(model), x**0.2)
    with pytest.raises(ValueError, match="side"):
        result.size_curve("mnist1d-mlp", "jax")
    with pytest.raises(ValueError, match="over"):
        result.exponent("mnist1d-mlp", "numpy", over="depth")
    with pytest.raises(ValueError, match="no timing"):
        result.timing("mnist1d-mlp", 123, 4)


def test_table_has_one_row_per_configuration_and_the_promised_columns():
    result = synthetic_result()
    table = result.table()
    assert isinstance(table, Table)
    assert table.header == [
        "model",
        "n",
        "width",
        "NumPy ms/epoch",
        "torch ms/epoch",
        "NumPy / torch",
    ]
    # per model: 3 sizes at the default width + 2 widths at n = 1000 (none shared here)
    assert len(table.rows) == len(result.timings) == 10
    assert [row[0] for row in table.rows] == ["MNIST-1D MLP"] * 5 + ["MNIST-1D CNN"] * 5
    first = table.rows[0]
    assert first[1:3] == ["250", "100 hidden"]
    assert float(first[5]) == pytest.approx(250**0.2, abs=0.01)
    exponents = result.exponent_table()
    assert len(exponents.header) == 5 and len(exponents.rows) == 2
    assert exponents.rows[0][1:] == ["1.00", "0.80", "1.00", "0.80"]
    assert "NumPy / torch" in str(table) and "| MNIST-1D CNN |" in table._repr_markdown_()


def test_an_exponent_needs_two_points():
    result = synthetic_result()
    result.sizes = (250,)
    assert np.isnan(result.exponent("mnist1d-mlp", "numpy"))
    assert result.exponent_table().rows[0][1] == "—"


class FakeSide:
    """Stands in for one side of a configuration: every epoch takes ``ms`` milliseconds."""

    def __init__(self, ms):
        self.ms, self.calls = ms, 0

    def epoch_ms(self, clock):
        self.calls += 1
        return self.ms


@pytest.mark.parametrize(
    "numpy_ms, torch_ms, repeats, rounds",
    [
        (100.0, 50.0, 3, 3),  # slow: the rounds asked for
        (1.0, 3.0, 3, 30),  # fast: more rounds, at most MAX_ROUNDS * repeats
        (10.0, 5.0, 2, 8),  # until each side has MIN_TIMED_MS (40 ms) timed
    ],
)
def test_time_pair_warms_up_then_times_enough_rounds(numpy_ms, torch_ms, repeats, rounds):
    numpy_side, torch_side = FakeSide(numpy_ms), FakeSide(torch_ms)
    np_times, t_times = speed._time_pair(numpy_side, torch_side, repeats, clock=None)
    assert len(np_times) == len(t_times) == rounds
    assert numpy_side.calls == torch_side.calls == rounds + 1  # one warm-up epoch each
    assert set(np_times) == {numpy_ms} and set(t_times) == {torch_ms}


# --- the models ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, width", [("digits-mlp", 8), ("mnist1d-mlp", 8), ("mnist1d-cnn", 4)]
)
def test_the_numpy_and_torch_models_are_twins(model, width):
    numpy_net = speed.numpy_model(model, width, seed=1)
    torch_net = copy_to_torch(numpy_net, speed.torch_model(model, width).double())
    x = np.random.default_rng(0).standard_normal((5, 64 if model == "digits-mlp" else 40))
    with torch.no_grad():
        out = torch_net(torch.tensor(x)).numpy()
    assert out.shape == (5, 10)
    assert np.abs(out - numpy_net(x)).max() < 1e-12


def test_numpy_paper_cnn_has_paper_cnns_parameters():
    from regcourse.benchmark import paper_cnn

    for channels in (4, 25):
        ours = dict(speed.numpy_paper_cnn(channels).named_parameters())
        theirs = dict(paper_cnn(channels).named_parameters())
        assert {k: v.data.shape for k, v in ours.items()} == {
            k: tuple(v.shape) for k, v in theirs.items()
        }


# --- a tiny real run, and the command line ---------------------------------------------------


def random_pool(data):
    # stands in for the data sets (generating MNIST-1D takes seconds): only shapes matter here
    rng = np.random.default_rng(0)
    return rng.standard_normal((100, 64 if data == "digits" else 40)), rng.integers(0, 10, 100)


def test_a_tiny_real_run_returns_positive_times_for_every_model(monkeypatch):
    monkeypatch.setattr(speed, "_pool", random_pool)
    result = speed.run_benchmark(**TINY)
    assert result.models == tuple(speed.MODELS)
    assert len(result.timings) == 2 * len(speed.MODELS)  # the default width, and the swept one
    for timing in result.timings:
        assert 1 <= len(timing.numpy_ms) == len(timing.torch_ms) <= speed.MAX_ROUNDS
        assert timing.numpy > 0 and timing.torch > 0 and timing.ratio > 0
    assert result.clock == "cpu" and result.device == "cpu" and result.seconds > 0
    assert len(result.table().rows) == len(result.timings)
    # one size and one width: nothing to fit
    assert np.isnan(result.exponent("digits-mlp", "numpy"))
    assert np.isnan(result.exponent("digits-mlp", "torch", over="width"))


def test_the_run_restores_the_thread_settings():  # on the real digits
    before = torch.get_num_threads()
    speed.run_benchmark(models=["digits-mlp"], **TINY)
    assert torch.get_num_threads() == before


def test_the_command_line_with_its_smallest_options(capsys):
    argv = ["--models", "digits-mlp", "--sizes", "40", "--hidden", "8"]
    assert speed.main(argv + ["--width-size", "40", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "NumPy / torch" in out and "digits MLP" in out and "growth exponents" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_the_command_line_help_and_its_errors(capsys):
    with pytest.raises(SystemExit) as exit_help:
        speed.main(["--help"])
    assert exit_help.value.code == 0
    assert "python -m regcourse.speed" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_error:
        speed.main(["--models", "resnet"])
    assert exit_error.value.code == 2
    assert "unknown model 'resnet'" in capsys.readouterr().err


# --- clear errors on bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(sizes=[]), "sizes is empty"),
        (dict(sizes=[100, 0]), "positive integer"),
        (dict(sizes=[-5]), "positive integer"),
        (dict(sizes=[2.5]), "positive integer"),
        (dict(sizes=250), "sequence of positive integers"),
        (dict(hidden=[0]), "positive integer"),
        (dict(channels=[]), "channels is empty"),
        (dict(width_size=0), "width_size must be a positive integer"),
        (dict(repeats=0), "repeats must be a positive integer"),
        (dict(repeats=-1), "repeats must be a positive integer"),
        (dict(threads=0), "threads must be a positive integer"),
        (dict(models=["resnet"]), "unknown model 'resnet'; the models are digits-mlp"),
        (dict(models=[]), "models is empty"),
        (dict(clock="sundial"), "clock must be one of"),
        (dict(clock="cpu", threads=2), "needs threads=1"),
        (dict(device="abacus"), "not a device torch knows"),
        (dict(seed=-1), "seed must be an integer >= 0"),
    ],
)
def test_bad_input_raises_a_clear_value_error(options, message):
    with pytest.raises(ValueError, match=message):
        speed.run_benchmark(**options)


def test_unknown_model_names_raise_in_the_builders_too():
    with pytest.raises(ValueError, match="unknown model"):
        speed.numpy_model("resnet", 8)
    with pytest.raises(ValueError, match="width must be a positive integer"):
        speed.torch_model("digits-mlp", 0)
