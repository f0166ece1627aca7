"""How fast is the NumPy reference? One training epoch, NumPy against its torch twin.

The book's NumPy layers compute every forward and backward by hand; their torch
twins let autograd do the backward. This module times **one training epoch** of
the same network on both sides, on the CPU and on one thread, for three models
of the book:

- ``digits-mlp``: the 64 -> hidden -> 10 ReLU MLP of the digits chapters (01, 05),
  trained as chapter 01 trains it: SGD (lr 0.05, momentum 0.9) in batches of 32;
- ``mnist1d-mlp``: the 40 -> hidden -> hidden -> 10 baseline of the standard task
  (:func:`regcourse.benchmark.baseline_mlp`), Adam (lr 0.01) in batches of 50;
- ``mnist1d-cnn``: the MNIST-1D paper's CNN (:func:`regcourse.benchmark.paper_cnn`
  and its NumPy twin :func:`numpy_paper_cnn`), trained as the baseline.

One epoch is one call of ``train_one_epoch`` (``regcourse.numpy.train`` and
``regcourse.torch.train``), the loop ``fit`` runs every epoch: a random permutation
cut into mini-batches, forward, backward, optimizer step. Both sides start from the
same weights (:func:`regcourse.experiments.copy_to_torch`) and draw the same
mini-batches; each computes in its own default precision (NumPy float64, torch
float32), as in the chapters.

Timing on a shared, noisy machine (:func:`run_benchmark`), one configuration at a time:

- the clock is the CPU time of the calling thread (:data:`CLOCKS`): with one thread
  all the work runs there, and time the machine gives to other programs is not
  counted (wall-clock time with several threads or a GPU);
- each side first trains one untimed epoch (warm-up: allocations, caches, torch's
  first-call costs);
- then ``repeats`` rounds (more for a fast configuration, see :data:`MIN_TIMED_MS`),
  each one epoch of NumPy and one of torch back to back, taking turns to go first,
  so that a burst of load hits both sides alike;
- the reported time is the **minimum** over the rounds: load only ever adds time,
  so the fastest epoch is the best estimate of what the code itself costs.
  Every round's time is kept in :class:`Timing`.

The sizes ``n`` (training examples per epoch) are swept at each model's default
width; the widths (hidden units, or channels for the CNN) at ``n = width_size``.
:func:`growth_exponent` fits ``time ~ c * x^b`` on the log-log points, so ``b = 1``
means time proportional to ``x``. Data: digits images and MNIST-1D training
sequences; a size beyond the data set repeats its examples (the cost of an epoch
depends on how many examples it sees, not on which).

From the command line, ``python -m regcourse.speed`` prints the table (``--help``
for the options; ``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from regcourse._checks import positive_int
from regcourse.experiments import Table

__all__ = [
    "MODELS",
    "ModelSpec",
    "SIZES",
    "HIDDEN",
    "CHANNELS",
    "WIDTH_SIZE",
    "REPEATS",
    "MIN_TIMED_MS",
    "MAX_ROUNDS",
    "QUICK",
    "CLOCKS",
    "Timing",
    "SpeedResult",
    "growth_exponent",
    "numpy_paper_cnn",
    "numpy_model",
    "torch_model",
    "run_benchmark",
    "main",
]


@dataclass(frozen=True)
class ModelSpec:
    """One model of the benchmark: its name, its width and how the chapters train it."""

    key: str
    title: str
    width_name: str  # what the width counts: "hidden units" or "channels"
    default_width: int
    batch_size: int
    optimizer: str  # "sgd" (lr 0.05, momentum 0.9) or "adam" (lr 0.01)
    data: str  # "digits" or "mnist1d"


#: The models, by the name the functions and the command line take.
MODELS = {
    "digits-mlp": ModelSpec("digits-mlp", "digits MLP", "hidden units", 128, 32, "sgd", "digits"),
    "mnist1d-mlp": ModelSpec(
        "mnist1d-mlp", "MNIST-1D MLP", "hidden units", 100, 50, "adam", "mnist1d"
    ),
    "mnist1d-cnn": ModelSpec("mnist1d-cnn", "MNIST-1D CNN", "channels", 25, 50, "adam", "mnist1d"),
}

#: Training-set sizes swept at each model's default width.
SIZES = (250, 500, 1000, 2000)
#: Widths swept at ``WIDTH_SIZE`` examples: hidden units of the MLPs, channels of the CNN.
HIDDEN = (32, 128, 512)
CHANNELS = (8, 25, 64)
WIDTH_SIZE = 500
#: Timed rounds per configuration (after one warm-up epoch); the minimum is reported.
REPEATS = 5
#: A fast configuration gets more rounds, until each side has been timed this long
#: (milliseconds), but at most ``MAX_ROUNDS`` times ``repeats`` rounds.
MIN_TIMED_MS = 40.0
MAX_ROUNDS = 10
#: The clocks: ``"cpu"`` is the CPU time of the calling thread (``time.thread_time``),
#: which other programs' load does not inflate, and which holds all the work when
#: everything runs on one thread (NumPy's BLAS and torch then compute in the calling
#: thread); ``"wall"`` is elapsed time (``time.perf_counter``), for several threads or a GPU.
CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}
#: The ``--quick`` settings: fewer points and rounds, a few seconds in all.
QUICK = {"sizes": (250, 1000), "hidden": (32, 512), "channels": (8, 64), "repeats": 3}


# ---------------------------------------------------------------------------
# The models and their data
# ---------------------------------------------------------------------------


def numpy_paper_cnn(channels: int = 25, length: int = 40):
    """The NumPy twin of :func:`regcourse.benchmark.paper_cnn`: same layers, same names.

    (N, 40) -> (N, 1, 40) -> three ``Conv1d`` (kernels 5, 3, 3, stride 2, padding 1),
    each followed by ``ReLU`` -> flatten -> ``Linear(channels * 5, 10)``.
    """
    import regcourse.numpy as rnp

    channels, length = positive_int("channels", channels), positive_int("length", length)
    layers, n_in = [rnp.Unflatten(1, (1, length))], 1
    for kernel_size in (5, 3, 3):
        layers += [rnp.Conv1d(n_in, channels, kernel_size, stride=2, padding=1), rnp.ReLU()]
        n_in = channels
        length = (length + 2 - kernel_size) // 2 + 1
    return rnp.Sequential(*layers, rnp.Flatten(), rnp.Linear(channels * length, 10))


def _spec(model: str) -> ModelSpec:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; the models are {', '.join(MODELS)}")
    return MODELS[model]


def numpy_model(model: str, width: int, seed: int = 0):
    """The NumPy network ``model`` (a key of :data:`MODELS`) at ``width``, seeded."""
    import regcourse.numpy as rnp

    spec, width = _spec(model), positive_int("width", width)
    rnp.manual_seed(seed)
    if spec.key == "digits-mlp":
        return rnp.mlp([64, width, 10])
    if spec.key == "mnist1d-mlp":
        return rnp.mlp([40, width, width, 10])
    return numpy_paper_cnn(width)


def torch_model(model: str, width: int):
    """The torch twin of :func:`numpy_model` (float32; copy weights with ``copy_to_torch``)."""
    import regcourse.torch as rt
    from regcourse.benchmark import baseline_mlp, paper_cnn

    spec, width = _spec(model), positive_int("width", width)
    if spec.key == "digits-mlp":
        return rt.mlp([64, width, 10])
    if spec.key == "mnist1d-mlp":
        return baseline_mlp(hidden=width)
    return paper_cnn(width)


def _pool(data: str) -> tuple[np.ndarray, np.ndarray]:
    """The examples an epoch is drawn from: digits' training split or MNIST-1D's 4,000."""
    from regcourse.data import load_digits_splits, load_mnist1d

    splits = load_digits_splits(seed=0) if data == "digits" else load_mnist1d()
    return splits.train


def _examples(pool, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` examples of ``pool`` in a seeded order; the pool repeats when ``n`` exceeds it."""
    X, y = pool
    order = np.random.default_rng(seed).permutation(len(X))
    index = np.resize(order, n)  # np.resize repeats the order to fill n entries
    return X[index], y[index]


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """The times of one configuration (model, n, width): every timed round, in milliseconds."""

    model: str
    n: int
    width: int
    numpy_ms: tuple[float, ...]
    torch_ms: tuple[float, ...]

    @property
    def numpy(self) -> float:
        """ms per epoch, NumPy: the fastest round."""
        return min(self.numpy_ms)

    @property
    def torch(self) -> float:
        """ms per epoch, torch: the fastest round."""
        return min(self.torch_ms)

    @property
    def ratio(self) -> float:
        """NumPy time / torch time: above 1, torch is faster."""
        return self.numpy / self.torch


def growth_exponent(x, t) -> float:
    """The exponent ``b`` of ``t ~ c * x^b``: least squares on ``log t = log c + b log x``.

    ``x`` and ``t`` are positive, of the same length, with at least two distinct ``x``.
    """
    x, t = np.asarray(x, dtype=float), np.asarray(t, dtype=float)
    if x.ndim != 1 or x.shape != t.shape:
        raise ValueError(
            f"x and t must be 1-D and of the same length, got shapes {x.shape} and {t.shape}"
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t)) and np.all(x > 0) and np.all(t > 0)):
        raise ValueError("x and t must be positive finite numbers (their logarithms are fitted)")
    if len(np.unique(x)) < 2:
        raise ValueError(f"a growth exponent needs at least two distinct x, got {x.tolist()}")
    slope, _ = np.polyfit(np.log(x), np.log(t), 1)
    return float(slope)


@dataclass
class SpeedResult:
    """What :func:`run_benchmark` measured: every timing, and the sweeps it came from.

    ``timings`` holds one :class:`Timing` per configuration; ``sizes`` the sizes swept
    at each model's default width, ``widths[model]`` the widths swept at
    ``width_size`` examples. :meth:`table` and :meth:`exponent_table` show them.
    """

    timings: list[Timing]
    models: tuple[str, ...]
    sizes: tuple[int, ...]
    widths: dict[str, tuple[int, ...]]
    width_size: int
    repeats: int
    device: str = "cpu"
    threads: int = 1
    clock: str = "cpu"
    seconds: float = 0.0  # wall time of the whole run, warm-up included
    _index: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._index = {(t.model, t.n, t.width): t for t in self.timings}

    def timing(self, model: str, n: int, width: int) -> Timing:
        """The :class:`Timing` of one configuration."""
        try:
            return self._index[model, n, width]
        except KeyError:
            raise ValueError(f"no timing for {model!r} at n = {n}, width = {width}") from None

    def _side(self, side: str) -> str:
        if side not in ("numpy", "torch"):
            raise ValueError(f"side must be 'numpy' or 'torch', got {side!r}")
        return side

    def size_curve(self, model: str, side: str) -> tuple[np.ndarray, np.ndarray]:
        """(sizes, ms per epoch) of one side, at the model's default width."""
        side, width = self._side(side), _spec(model).default_width
        times = [getattr(self.timing(model, n, width), side) for n in self.sizes]
        return np.array(self.sizes), np.array(times)

    def width_curve(self, model: str, side: str) -> tuple[np.ndarray, np.ndarray]:
        """(widths, ms per epoch) of one side, at ``width_size`` examples."""
        side, widths = self._side(side), self.widths[model]
        times = [getattr(self.timing(model, self.width_size, w), side) for w in widths]
        return np.array(widths), np.array(times)

    def ratios(self, model: str, over: str = "n") -> np.ndarray:
        """NumPy / torch along the size sweep (``over="n"``) or the width sweep."""
        curve = self.size_curve if over == "n" else self.width_curve
        if over not in ("n", "width"):
            raise ValueError(f"over must be 'n' or 'width', got {over!r}")
        return curve(model, "numpy")[1] / curve(model, "torch")[1]

    def exponent(self, model: str, side: str, over: str = "n") -> float:
        """The fitted ``b`` of time ~ n^b (or width^b); nan with fewer than two points."""
        if over not in ("n", "width"):
            raise ValueError(f"over must be 'n' or 'width', got {over!r}")
        x, t = (self.size_curve if over == "n" else self.width_curve)(model, side)
        return growth_exponent(x, t) if len(np.unique(x)) >= 2 else float("nan")

    def table(self) -> Table:
        """One row per configuration: model, n, width, ms per epoch on each side, the ratio."""
        rows = []
        for model in self.models:
            for t in sorted((t for t in self.timings if t.model == model), key=_row_order):
                rows.append(
                    [
                        MODELS[model].title,
                        f"{t.n:,}",
                        f"{t.width} {_width_unit(model)}",
                        _format_ms(t.numpy),
                        _format_ms(t.torch),
                        f"{t.ratio:.2f}",
                    ]
                )
        header = ["model", "n", "width", "NumPy ms/epoch", "torch ms/epoch", "NumPy / torch"]
        return Table(header, rows, align="lrrrrr")

    def exponent_table(self) -> Table:
        """Per model, the fitted b of time ~ n^b and of time ~ width^b, for each side."""
        rows = []
        for model in self.models:
            cells = [self.exponent(model, side, over) for over in ("n", "width") for side in SIDES]
            rows.append([MODELS[model].title, *(_format_b(b) for b in cells)])
        header = ["model", "b over n: NumPy", "torch", "b over width: NumPy", "torch"]
        return Table(header, rows)

    def describe(self) -> str:
        """The settings in four lines, for the top of a printed report."""
        batches = ", ".join(f"{MODELS[m].title} {MODELS[m].batch_size}" for m in self.models)
        clock = "CPU time of the thread" if self.clock == "cpu" else "wall-clock time"
        return (
            f"one training epoch per configuration, on {self.device}, {self.threads} thread(s)\n"
            f"batch sizes: {batches}\n"
            f"{clock}, fastest of at least {self.repeats} timed rounds after a warm-up epoch\n"
            f"sizes at the default widths, widths at n = {self.width_size:,}"
        )


SIDES = ("numpy", "torch")


def _row_order(t: Timing):
    return (t.n, t.width)


def _width_unit(model: str) -> str:
    return "channels" if MODELS[model].width_name == "channels" else "hidden"


def _format_ms(ms: float) -> str:
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def _format_b(b: float) -> str:
    return "—" if math.isnan(b) else f"{b:.2f}"


class _Side:
    """One side of one configuration: a model, its optimizer and data, ready to train."""

    def __init__(self, train_one_epoch, model, optimizer, loss_fn, X, y, batch_size, seed, sync):
        self.args = (model, loss_fn, optimizer, X, y, batch_size)
        self.train_one_epoch = train_one_epoch
        self.rng = np.random.default_rng(seed)
        self.sync = sync

    def epoch_ms(self, clock) -> float:
        start = clock()
        self.train_one_epoch(*self.args, self.rng)
        if self.sync is not None:
            self.sync()
        return 1000 * (clock() - start)


def _build(model: str, n: int, width: int, pool, device, seed: int) -> tuple[_Side, _Side]:
    """The NumPy network and its torch twin (same weights, same batches), ready to time."""
    import torch

    import regcourse.numpy as rnp
    import regcourse.torch as rt
    from regcourse.experiments import copy_to_torch
    from regcourse.numpy.train import train_one_epoch as numpy_epoch
    from regcourse.torch.train import train_one_epoch as torch_epoch

    spec = MODELS[model]
    X, y = _examples(pool, n, seed)
    np_net = numpy_model(model, width, seed)
    t_net = copy_to_torch(np_net, torch_model(model, width)).to(device)
    if spec.optimizer == "sgd":
        np_opt = rnp.SGD(np_net.parameters(), lr=0.05, momentum=0.9)
        t_opt = rt.SGD(t_net.parameters(), lr=0.05, momentum=0.9)
    else:
        np_opt = rnp.Adam(np_net.parameters(), lr=0.01)
        t_opt = rt.Adam(t_net.parameters(), lr=0.01)
    X_t = torch.as_tensor(X, dtype=torch.float32, device=device)
    y_t = torch.as_tensor(y, device=device)
    batch, t_sync = spec.batch_size, _synchronizer(device)
    np_side = _Side(numpy_epoch, np_net, np_opt, rnp.CrossEntropyLoss(), X, y, batch, seed, None)
    t_side = _Side(torch_epoch, t_net, t_opt, rt.CrossEntropyLoss(), X_t, y_t, batch, seed, t_sync)
    return np_side, t_side


def _synchronizer(device):
    """A function that waits for the device's queued work (CUDA runs kernels asynchronously)."""
    if device.type != "cuda":
        return None
    import torch

    return lambda: torch.cuda.synchronize(device)


def _time_pair(numpy_side: _Side, torch_side: _Side, repeats: int, clock):
    """One untimed epoch per side, then rounds of one epoch per side, back to back.

    ``repeats`` rounds at least; a fast configuration gets more, until each side has
    been timed for :data:`MIN_TIMED_MS` (at most ``MAX_ROUNDS * repeats`` rounds): the
    shortest epochs are the ones a single interruption distorts most. The two sides take
    turns going first, so neither is always the one to meet a cache emptied by the
    other. Returns the NumPy and the torch times, in ms.
    """
    numpy_ms, torch_ms = [], []

    def more():
        if len(numpy_ms) < repeats:
            return True
        timed_enough = min(sum(numpy_ms), sum(torch_ms)) >= MIN_TIMED_MS
        return not timed_enough and len(numpy_ms) < MAX_ROUNDS * repeats

    with _no_gc():
        numpy_side.epoch_ms(clock)  # warm-up: allocations, caches, torch's first calls
        torch_side.epoch_ms(clock)
        while more():
            if len(numpy_ms) % 2 == 0:
                numpy_ms.append(numpy_side.epoch_ms(clock))
                torch_ms.append(torch_side.epoch_ms(clock))
            else:
                torch_ms.append(torch_side.epoch_ms(clock))
                numpy_ms.append(numpy_side.epoch_ms(clock))
    return tuple(numpy_ms), tuple(torch_ms)


@contextlib.contextmanager
def _threads(n: int):
    """``regcourse.limit_threads(n)`` for the duration of the block, then the old settings."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    with threadpool_limits(limits=n):
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@contextlib.contextmanager
def _no_gc():
    """No garbage collection during the timed epochs, as ``timeit`` does.

    (:func:`run_benchmark` collects once before it starts: a full collection in a
    process that has imported torch takes a good part of a second.)
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _positive_ints(name: str, values) -> tuple[int, ...]:
    """A non-empty sequence of positive integers, sorted and without repeats."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a sequence of positive integers, got {values!r}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty: give at least one positive integer")
    return tuple(sorted({positive_int(f"every entry of {name}", v) for v in values}))


def _check_models(models) -> tuple[str, ...]:
    if isinstance(models, str):
        models = [models]
    models = list(models)
    if not models:
        raise ValueError(f"models is empty: give at least one of {', '.join(MODELS)}")
    for model in models:
        _spec(model)
    return tuple(dict.fromkeys(models))


def _check_clock(clock, threads: int, device) -> str:
    if clock is None:
        return "cpu" if threads == 1 and device.type == "cpu" else "wall"
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {', '.join(CLOCKS)} (or None), got {clock!r}")
    if clock == "cpu" and (threads != 1 or device.type != "cpu"):
        raise ValueError(
            "clock='cpu' counts the calling thread's CPU time only: it needs threads=1 and "
            "device='cpu' (use clock='wall' for several threads or a GPU)"
        )
    return clock


def _check_device(device):
    import torch

    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device {device!r} is not a device torch knows: {error}") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda' (optionally 'cuda:N'), got {device}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch finds no CUDA GPU")
    return device


def run_benchmark(
    models=tuple(MODELS),
    sizes=SIZES,
    hidden=HIDDEN,
    channels=CHANNELS,
    width_size: int = WIDTH_SIZE,
    repeats: int = REPEATS,
    device="cpu",
    threads: int = 1,
    clock: str | None = None,
    seed: int = 0,
) -> SpeedResult:
    """Time one training epoch of each model, NumPy against torch; see the module docstring.

    - ``models``: keys of :data:`MODELS` (all three by default);
    - ``sizes``: training-set sizes, swept at each model's default width;
    - ``hidden`` (the MLPs) and ``channels`` (the CNN): widths, swept at ``width_size``;
    - ``repeats``: timed rounds after the warm-up (at least; fast configurations get
      more, see :data:`MIN_TIMED_MS`); the fastest is reported;
    - ``device``: where torch computes, ``"cpu"`` by default even when a GPU is
      present (this compares implementations); ``"cuda"`` times the GPU instead;
    - ``threads``: BLAS and torch threads during the run (restored afterwards);
    - ``clock``: ``"cpu"`` (the thread's CPU time, robust to other programs' load;
      the default with one thread on the CPU) or ``"wall"`` (the default otherwise),
      see :data:`CLOCKS`.

    Returns a :class:`SpeedResult`; ``result.table()`` is the table to show.
    Raises ValueError on an unknown model, an empty list, or a non-positive number.
    """
    models = _check_models(models)
    sizes = _positive_ints("sizes", sizes)
    widths_of = {"hidden units": _positive_ints("hidden", hidden)}
    widths_of["channels"] = _positive_ints("channels", channels)
    width_size = positive_int("width_size", width_size)
    repeats = positive_int("repeats", repeats)
    threads = positive_int("threads", threads)
    seed = int(seed) if isinstance(seed, (int, np.integer)) and seed >= 0 else None
    if seed is None:
        raise ValueError("seed must be an integer >= 0")
    device = _check_device(device)
    clock = _check_clock(clock, threads, device)
    tick = CLOCKS[clock]
    widths = {m: widths_of[MODELS[m].width_name] for m in models}

    start = time.perf_counter()
    timings = []
    with _threads(threads):
        pools = {data: _pool(data) for data in {MODELS[m].data for m in models}}
        gc.collect()
        for model in models:
            points = [(n, MODELS[model].default_width) for n in sizes]
            points += [(width_size, w) for w in widths[model]]
            for n, width in dict.fromkeys(points):  # each point once, in order
                sides = _build(model, n, width, pools[MODELS[model].data], device, seed)
                timings.append(Timing(model, n, width, *_time_pair(*sides, repeats, tick)))
    return SpeedResult(
        timings=timings,
        models=models,
        sizes=sizes,
        widths=widths,
        width_size=width_size,
        repeats=repeats,
        device=str(device),
        threads=threads,
        clock=clock,
        seconds=time.perf_counter() - start,
    )


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m regcourse.speed``: run the benchmark and print its two tables."""
    parser = argparse.ArgumentParser(
        prog="python -m regcourse.speed",
        description="Time one training epoch of the book's NumPy networks against their torch "
        "twins (CPU, one thread), over training-set sizes and widths, and fit time ~ x^b. "
        "The defaults take about 10 s on an idle 2-core laptop (--quick: a few seconds less).",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(MODELS),
        metavar="MODEL",
        help=f"models to time (default: all): {', '.join(MODELS)}",
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        metavar="N",
        help=f"training-set sizes, at each model's default width (default: {_join(SIZES)})",
    )
    parser.add_argument(
        "--hidden",
        nargs="+",
        type=int,
        metavar="W",
        help=f"hidden widths of the MLPs, at --width-size examples (default: {_join(HIDDEN)})",
    )
    parser.add_argument(
        "--channels",
        nargs="+",
        type=int,
        metavar="C",
        help=f"channels of the CNN, at --width-size examples (default: {_join(CHANNELS)})",
    )
    parser.add_argument(
        "--width-size",
        type=int,
        default=WIDTH_SIZE,
        metavar="N",
        help=f"training-set size of the width sweep (default: {WIDTH_SIZE})",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        metavar="R",
        help=f"timed rounds after one warm-up, at least (fast configurations get more); "
        f"the fastest counts (default: {REPEATS})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"fewer points and rounds (sizes {_join(QUICK['sizes'])}, hidden "
        f"{_join(QUICK['hidden'])}, channels {_join(QUICK['channels'])}, "
        f"{QUICK['repeats']} rounds); explicit options win",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="where torch computes: cpu (default, even with a GPU) or cuda",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS and torch threads (default: 1)"
    )
    parser.add_argument(
        "--clock",
        choices=list(CLOCKS),
        help="cpu: the thread's CPU time (default with one thread on the CPU); "
        "wall: elapsed time (default otherwise)",
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else {}

    def pick(name, fallback):
        value = getattr(args, name)
        return value if value is not None else defaults.get(name, fallback)

    try:
        result = run_benchmark(
            models=args.models,
            sizes=pick("sizes", SIZES),
            hidden=pick("hidden", HIDDEN),
            channels=pick("channels", CHANNELS),
            width_size=args.width_size,
            repeats=pick("repeats", REPEATS),
            device=args.device,
            threads=args.threads,
            clock=args.clock,
        )
    except ValueError as error:
        parser.error(str(error))
    print(result.describe())
    print()
    print(result.table())
    print()
    print("growth exponents b of time ~ x^b (least squares on log-log):")
    print(result.exponent_table())
    print()
    print(f"{len(result.timings)} configurations in {result.seconds:.1f} s")
    return 0


def _join(values) -> str:
    return " ".join(str(v) for v in values)


if __name__ == "__main__":
    sys.exit(main())
