"""Check your own implementations against the course's reference.

In a notebook::

    from regcourse import check

    def dropout_forward(x, p, rng):
        ...

    check.dropout_forward(dropout_forward)

Every checker runs on your function what our own tests run on the reference
layers of ``regcourse.numpy``: values, numerical gradient checks, statistical
checks, shapes and edge cases. It returns a :class:`Report`: ``report.passed``
is True when every check passes, and printing it (or leaving it as the last
line of a cell) lists each check with ✓ or ✗ and says what looks wrong.

A checker never raises because your answer is wrong: an exception inside your
code is reported with its type, its message and the line of your code it came
from; a wrong return type or shape is reported too.

The checkers: :func:`l2_penalty`, :func:`soft_threshold`, :func:`dropout_forward`,
:func:`batchnorm_forward`, :func:`batchnorm_backward`, :func:`layernorm_forward`,
:func:`elastic_net_prox`, :func:`conv1d_forward`, :func:`early_stopping`,
:func:`label_smoothing_targets`, :func:`gaussian_noise_forward`, :func:`shift_signals`,
:func:`ensemble_average`, :func:`min_norm_least_squares`, :func:`polynomial_features`,
:func:`multitask_loss`.
"""

from __future__ import annotations

import html
import os
import sysconfig
import traceback
import warnings
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from regcourse.numpy.conv import Conv1d
from regcourse.numpy.dropout import Dropout
from regcourse.numpy.gradcheck import numerical_gradient
from regcourse.numpy.norm import BatchNorm1d, LayerNorm, normalize_backward
from regcourse.numpy.penalties import L2, ElasticNet
from regcourse.numpy.penalties import soft_threshold as _reference_soft_threshold
from regcourse.training import EarlyStopping

__all__ = [
    "Report",
    "batchnorm_backward",
    "batchnorm_forward",
    "conv1d_forward",
    "dropout_forward",
    "early_stopping",
    "elastic_net_prox",
    "ensemble_average",
    "gaussian_noise_forward",
    "l2_penalty",
    "label_smoothing_targets",
    "layernorm_forward",
    "min_norm_least_squares",
    "multitask_loss",
    "polynomial_features",
    "shift_signals",
    "soft_threshold",
]

RTOL, ATOL = 1e-6, 1e-9  # values compared with the reference
SUSPECT_RTOL = 1e-7  # a typical mistake is recognised when the answer matches it this closely
GRAD_TOL = 1e-5  # relative error allowed against central differences
SIGMAS = 5  # margin of the statistical checks: a correct answer fails once in ~2 million runs
PASS, FAIL, SKIP = "pass", "fail", "skip"
_SYMBOLS = {PASS: "✓", FAIL: "✗", SKIP: "–"}
_COLOURS = {PASS: "#1a7f37", FAIL: "#cf222e", SKIP: "#6e7781"}


# ----------------------------------------------------------------------------------------------
# The report


@dataclass
class CheckResult:
    """One line of a report: what was checked, whether it passed, and why not."""

    name: str
    status: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASS


@dataclass
class Report:
    """What a checker found: ``.passed``, ``.checks`` (a list of :class:`CheckResult`) and a
    readable ``str()`` listing every check with ✓ (passed), ✗ (failed) or – (not run)."""

    title: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every check ran and passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == FAIL]

    def __bool__(self) -> bool:
        return self.passed

    def summary(self) -> str:
        if self.passed:
            return f"all {len(self.checks)} checks passed"
        skipped = sum(c.status == SKIP for c in self.checks)
        text = f"{len(self.failures)} of {len(self.checks)} checks failed"
        return text + (f", {skipped} not run" if skipped else "")

    def __str__(self) -> str:
        lines = [f"{self.title}: {self.summary()} {'✓' if self.passed else '✗'}"]
        for check in self.checks:
            lines.append(f"  {_SYMBOLS[check.status]} {check.name}")
            lines += [f"      {line}" for line in check.detail.splitlines()]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = _COLOURS[PASS if self.passed else FAIL]
        items = "".join(_html_item(check) for check in self.checks)
        return (
            f"<div><p><b>{html.escape(self.title)}</b>: "
            f'<span style="color:{colour}">{html.escape(self.summary())}</span></p>'
            f'<ul style="list-style:none;padding-left:0.5em;margin-top:0">{items}</ul></div>'
        )


def _html_item(check: CheckResult) -> str:
    symbol = f'<span style="color:{_COLOURS[check.status]}">{_SYMBOLS[check.status]}</span>'
    detail = ""
    if check.detail:
        detail = (
            '<div style="margin-left:1.6em;white-space:pre-wrap;font-size:90%">'
            f"{html.escape(check.detail)}</div>"
        )
    return f"<li>{symbol} {html.escape(check.name)}{detail}</li>"


# ----------------------------------------------------------------------------------------------
# Running checks without ever raising


class _Fail(Exception):
    """A check failed; the message is addressed to the student."""


class _StudentRaised(Exception):
    """The student's code raised; the message says what and where."""


def _fail(message: str):
    raise _Fail(message)


@dataclass
class _Check:
    name: str
    run: object  # a callable; it raises _Fail on failure, and may return a note (a str)
    essential: bool = False  # when it fails, the later checks are not run


def _run(title: str, functions: dict, checks: list[_Check]) -> Report:
    """Run the checks in order and collect a report; only KeyboardInterrupt and the like escape."""
    names = ", ".join(getattr(f, "__name__", type(f).__name__) for f in functions.values())
    report = Report(f"check.{title}({names})")
    for role, fn in functions.items():
        if not callable(fn):
            detail = (
                f"{role} should be a function, got {_describe(fn)}: pass the function itself "
                "(my_function), not the result of calling it (my_function(...))"
            )
            report.checks.append(CheckResult(f"{role} is a function", FAIL, detail))
            return report
    stopped = False
    for check in checks:
        if stopped:
            report.checks.append(CheckResult(check.name, SKIP))
            continue
        result = _run_one(check)
        report.checks.append(result)
        stopped = check.essential and not result.passed
        if stopped and check is not checks[-1]:
            result.detail += "\n(the checks below need this one: fix it first; they were not run)"
    return report


def _run_one(check: _Check) -> CheckResult:
    try:
        note = check.run()
    except (_Fail, _StudentRaised) as failure:
        return CheckResult(check.name, FAIL, str(failure))
    except Exception as exc:  # what the student returned broke the checker: still report it
        message = f"could not check what your code returned ({type(exc).__name__}: {exc})"
        return CheckResult(check.name, FAIL, message)
    return CheckResult(check.name, PASS, note if isinstance(note, str) else "")


def _library_dirs() -> tuple[str, ...]:
    """Folders whose code is not the student's: the standard library, installed packages,
    and this package."""
    paths = sysconfig.get_paths()
    dirs = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    dirs.add(os.path.dirname(os.path.abspath(__file__)))
    return tuple(os.path.realpath(d) + os.sep for d in dirs)


_LIBRARY_DIRS = _library_dirs()


def _student_frame(exc: BaseException):
    """The deepest traceback frame in the student's own code (else the deepest one)."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # the first is _call itself
    own = [f for f in frames if not os.path.realpath(f.filename).startswith(_LIBRARY_DIRS)]
    return (own or frames or [None])[-1]


def _describe_exception(exc: BaseException, who: str, n_args: int) -> str:
    text = f"{who} raised {type(exc).__name__}: {exc}"
    frame = _student_frame(exc)
    if frame is None:  # the call itself failed
        return text + f"\n  it is called with {n_args} arguments: check its parameters"
    code = f": {frame.line.strip()}" if frame.line else ""
    return text + f"\n  in {frame.name}, line {frame.lineno}{code}"


def _call(fn, *args, who: str = "your function", copy: bool = True):
    """Call the student's function (on copies of the arrays, unless ``copy=False``); report an
    exception, never propagate it."""
    if copy:
        args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        with np.errstate(all="ignore"):
            return fn(*args)
    except Exception as exc:
        raise _StudentRaised(_describe_exception(exc, who, len(args))) from None


# ----------------------------------------------------------------------------------------------
# Validating and comparing what the student returned


def _describe(value) -> str:
    if value is None:
        return "None (did you forget a `return`?)"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)} values"
    if isinstance(value, int | float | np.number):
        return f"a single number ({float(value):.4g})"
    return f"a value of type {type(value).__name__}"


def _unpack(result, names: tuple[str, ...], who: str = "your function"):
    """The values of the tuple a student's function returns, or a failure saying what came
    back."""
    if isinstance(result, tuple | list) and len(result) == len(names):
        return result
    _fail(
        f"{who} should return {len(names)} values, ({', '.join(names)}); "
        f"it returned {_describe(result)}"
    )


def _shape_hint(got: tuple, want: tuple) -> str:
    if got == ():
        return ": a single number, did you sum or average the entries?"
    if len(want) > 1 and got == want[::-1]:
        return ": transposed?"
    if int(np.prod(got)) == int(np.prod(want)):
        return ": the right number of entries, did you reshape or flatten?"
    return ""


def _array(value, what: str, shape: tuple, hints: dict | None = None, nan_hint: str = ""):
    """``value`` as a float64 array of the given shape, or a failure addressed to the student."""
    if value is None:
        _fail(f"{what} is None: did you forget a `return`?")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(f"{what} should be a NumPy array, got {_describe(value)}")
    if arr.shape != tuple(shape):
        hint = (hints or {}).get(arr.shape) or _shape_hint(arr.shape, tuple(shape))
        _fail(f"{what} has shape {arr.shape}, expected {tuple(shape)}{hint}")
    if not np.all(np.isfinite(arr)):
        _fail(f"{what} contains NaN or inf{nan_hint}")
    return arr


def _scalar(value, what: str) -> float:
    """``value`` as a float, or a failure addressed to the student."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(f"{what} should be a single number, got {_describe(value)}")
    if arr.size != 1:
        _fail(f"{what} should be a single number, got {_describe(value)}: did you forget to sum?")
    return float(_array(arr.reshape(()), what, ()))


def _close(a, b, rtol: float = RTOL) -> bool:
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=ATOL))


def _rel_error(a, b) -> float:
    """||a - b|| / (||a|| + ||b||): 0 when equal, 1 when unrelated, tiny for rounding."""
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


def _fmt(arr) -> str:
    return np.array2string(np.asarray(arr), precision=4, separator=", ", threshold=8)


def _mismatch(got, expected, what: str) -> str:
    """A generic message: how far off ``got`` is, as a factor if it is proportional."""
    got, expected = np.asarray(got), np.asarray(expected)
    scale = float(np.vdot(expected, expected))
    if scale > 0:
        factor = float(np.vdot(got, expected)) / scale
        if abs(factor - 1) > 1e-3 and _close(got, factor * expected, rtol=1e-4):
            return f"{what} is {factor:.3g}× the expected value"
    if got.ndim == 0:
        return f"{what} is {float(got):.6g}, expected {float(expected):.6g}"
    i = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
    index = tuple(int(k) for k in i)
    mine, theirs = got[i] + 0.0, expected[i] + 0.0  # + 0.0: no "-0"
    digits = 6 if abs(mine - theirs) > 1e-4 * abs(theirs) else 10  # enough to see the difference
    return (
        f"{what} differs from the expected value; the largest difference is at index {index}: "
        f"yours is {mine:.{digits}g}, expected {theirs:.{digits}g}"
    )


def _compare(got, expected, what: str, suspects=()):
    """Pass if ``got`` matches ``expected``; otherwise fail with the hint of the first typical
    mistake ``got`` matches, or with a generic message."""
    if _close(got, expected):
        return
    for candidate, hint in suspects:
        if _close(got, candidate, rtol=SUSPECT_RTOL):
            _fail(hint)
    _fail(_mismatch(got, expected, what))


def _unchanged(before, after, name: str, example: str, who: str = "your function"):
    if not np.array_equal(before, after):
        _fail(
            f"{who} changed {name} in place: compute a new array ({example}) "
            f"instead of assigning into {name}"
        )


def _data(seed: int, shape, low=None, high=None):
    rng = np.random.default_rng(seed)
    if low is None:
        return rng.standard_normal(shape)
    return rng.uniform(low, high, shape)


# ----------------------------------------------------------------------------------------------
# L2 penalty


def l2_penalty(fn) -> Report:
    """Check ``fn(w, lam) -> (value, grad)``: value lam/2·Σw², grad lam·w.

    Checks: the return types and shapes; the value and the gradient against
    ``regcourse.numpy.penalties.L2``; the gradient against central differences
    of the value; lam = 0; vectors and 3-D arrays; w left unchanged.
    """
    w, lam = _data(1, (3, 4)), 0.3
    return _run(
        "l2_penalty",
        {"fn": fn},
        [
            _Check(
                "returns (value, grad): a number and an array of w's shape",
                partial(_l2_call, fn, w, lam),
                essential=True,
            ),
            _Check("value = lam/2 · Σ w²", partial(_l2_value, fn, w, lam)),
            _Check("grad = lam · w", partial(_l2_grad, fn, w, lam)),
            _Check(
                "grad is the derivative of value (numerical gradient check)",
                partial(_l2_numerical, fn, w, lam),
            ),
            _Check("lam = 0 gives value 0 and grad 0", partial(_l2_zero, fn, w)),
            _Check("works for w of any shape (a vector, a 3-D array)", partial(_l2_shapes, fn)),
            _Check("leaves w unchanged", partial(_l2_inplace, fn, w, lam)),
        ],
    )


def _l2_call(fn, w, lam):
    value, grad = _unpack(_call(fn, w, lam), ("value", "grad"))
    grad_hints = {(): ": a single number, but the gradient has one entry per weight (lam·w)"}
    return _scalar(value, "your value"), _array(grad, "your grad", w.shape, grad_hints)


def _l2_value(fn, w, lam):
    value, _ = _l2_call(fn, w, lam)
    squares, norm, l1 = np.sum(w**2), np.sqrt(np.sum(w**2)), np.sum(np.abs(w))
    suspects = [
        (lam * squares, "your value is 2× lam/2·Σw²: did you forget the ½ (lam/2, not lam)?"),
        (squares / 2, "your value is ½·Σw², without lam: did you forget to multiply by lam?"),
        (squares, "your value is Σw²: did you forget lam and the ½ (lam/2·Σw²)?"),
        (lam / 2 * norm, "you used the norm ‖w‖; the penalty uses its square, Σw²"),
        (lam * norm, "you used the norm ‖w‖; the penalty uses its square, lam/2·Σw²"),
        (lam / 2 * l1, "you used |w|, which is the L1 penalty; L2 squares the weights: Σw²"),
        (lam * l1, "lam·Σ|w| is the L1 penalty; L2 is lam/2·Σw²"),
        (lam / 2 * np.mean(w**2), "you averaged the squares (mean); the penalty sums them: Σw²"),
    ]
    _compare(value, L2(lam).value(w), "your value", suspects)


def _l2_grad(fn, w, lam):
    _, grad = _l2_call(fn, w, lam)
    suspects = [
        (w, "your grad is w: did you forget to multiply by lam?"),
        (
            2 * lam * w,
            "your grad is 2·lam·w, the gradient of lam·Σw²: the ½ in lam/2·Σw² "
            "cancels the 2 from w², so grad = lam·w",
        ),
        (
            lam / 2 * w,
            "your grad is lam/2·w: the derivative of w² is 2w, which cancels the ½, "
            "so grad = lam·w",
        ),
        (2 * w, "your grad is 2w: multiply by lam/2 as well (the 2 cancels), grad = lam·w"),
        (lam * np.sign(w), "lam·sign(w) is the L1 (sub)gradient; the L2 gradient is lam·w"),
        (np.full_like(w, lam), "your grad is lam everywhere: the derivative of lam/2·w² is lam·w"),
    ]
    _compare(grad, L2(lam).grad(w), "your grad", suspects)


def _l2_numerical(fn, w, lam):
    _, grad = _l2_call(fn, w, lam)
    point = w.copy()
    numeric = numerical_gradient(lambda: _l2_call(fn, point, lam)[0], point)
    error = _rel_error(grad, numeric)
    if error > GRAD_TOL:
        factor = float(np.vdot(numeric, grad) / max(np.vdot(grad, grad), 1e-300))
        ratio = f"; it is {factor:.3g}× your grad" if _close(numeric, factor * grad, 1e-4) else ""
        _fail(
            f"your grad is not the gradient of your value (relative error {error:.2g} against "
            f"central differences of your value{ratio}): value and grad disagree"
        )
    return f"relative error {error:.1e}"


def _l2_zero(fn, w):
    value, grad = _l2_call(fn, w, 0.0)
    if not _close(value, 0.0):
        _fail(f"with lam = 0 your value is {value:.6g}, expected 0: is lam a factor?")
    if not _close(grad, np.zeros_like(w)):
        _fail("with lam = 0 your grad is not 0: is lam a factor of every entry?")


def _l2_shapes(fn):
    for w in (_data(2, (5,)), _data(3, (2, 3, 4))):
        value, grad = _l2_call(fn, w, 0.7)
        _compare(value, L2(0.7).value(w), f"for w of shape {w.shape}, your value")
        _compare(grad, L2(0.7).grad(w), f"for w of shape {w.shape}, your grad")


def _l2_inplace(fn, w, lam):
    student = w.copy()
    _call(fn, student, lam, copy=False)
    _unchanged(w, student, "w", "lam * w")


# ----------------------------------------------------------------------------------------------
# Soft-thresholding


_SOFT_X = np.array(
    [
        [-2.0, -1.2, -0.7, -0.5, -0.3],
        [-0.1, 0.0, 0.2, 0.4, 0.6],
        [0.9, 1.5, 3.0, -3.0, 0.05],
        [-0.45, 0.55, 1.0, -1.0, 2.5],
    ]
)


def soft_threshold(fn) -> Report:
    """Check ``fn(x, threshold) -> array``: sign(x)·max(|x| − t, 0).

    Checks: an array of x's shape; the values against
    ``regcourse.numpy.penalties.soft_threshold``; exact zeros for |x| ≤ t; t = 0
    is the identity; a large t gives zeros; vectors and 3-D arrays; x left unchanged.
    """
    x, t = _SOFT_X, 0.5
    return _run(
        "soft_threshold",
        {"fn": fn},
        [
            _Check("returns an array of x's shape", partial(_soft_call, fn, x, t), essential=True),
            _Check("values = sign(x) · max(|x| − t, 0)", partial(_soft_values, fn, x, t)),
            _Check("entries with |x| ≤ t become exactly 0", partial(_soft_zeros, fn, x, t)),
            _Check("threshold 0 returns x", partial(_soft_identity, fn, x)),
            _Check("a threshold above every |x| returns zeros", partial(_soft_large, fn, x)),
            _Check("works for any shape (a vector, a 3-D array)", partial(_soft_shapes, fn)),
            _Check("leaves x unchanged", partial(_soft_inplace, fn, x, t)),
        ],
    )


def _soft_call(fn, x, t):
    return _array(_call(fn, x, t), "your output", x.shape)


def _soft_values(fn, x, t):
    out = _soft_call(fn, x, t)
    shrunk = np.maximum(np.abs(x) - t, 0.0)
    suspects = [
        (
            shrunk,
            "your output is never negative: you thresholded |x| but lost the sign; "
            "multiply by sign(x): sign(x)·max(|x| − t, 0)",
        ),
        (
            np.maximum(x - t, 0.0),
            "your negative entries all became 0: entries below −t move up "
            "by t too (−2 → −1.5 for t = 0.5); use the sign, "
            "sign(x)·max(|x| − t, 0)",
        ),
        (
            x * (np.abs(x) > t),
            "you set small entries to 0 but left the others as they are: that "
            "is hard thresholding; soft thresholding also shrinks them by t",
        ),
        (
            x - t * np.sign(x),
            "entries with |x| < t crossed zero instead of stopping at 0: clip "
            "at zero, max(|x| − t, 0)",
        ),
        (x - t, "you subtracted t from every entry: shrink towards zero, sign(x)·max(|x| − t, 0)"),
        (
            np.sign(x) * np.max(np.abs(x) - t, axis=0),
            "np.max is the largest entry along an axis; the elementwise maximum of two arrays "
            "is np.maximum: sign(x) * np.maximum(np.abs(x) - t, 0)",
        ),
        (
            np.clip(x, -t, t),
            "you clipped x to [−t, t]; soft thresholding shrinks |x| by t: sign(x)·max(|x| − t, 0)",
        ),
    ]
    _compare(out, _reference_soft_threshold(x, t), "your output", suspects)


def _soft_zeros(fn, x, t):
    out = _soft_call(fn, x, t)
    small = np.abs(x) <= t
    wrong = small & (out != 0)
    if wrong.any():
        i = tuple(int(k) for k in np.argwhere(wrong)[0])
        _fail(
            f"entries with |x| ≤ t = {t} should be exactly 0; at x = {x[i]:g} yours is {out[i]:.3g}"
        )


def _soft_identity(fn, x):
    _compare(_soft_call(fn, x, 0.0), x, "with threshold 0 your output")


def _soft_large(fn, x):
    _compare(_soft_call(fn, x, 10.0), np.zeros_like(x), "with threshold 10 your output")


def _soft_shapes(fn):
    for x in (_data(4, (7,)), _data(5, (2, 3, 4))):
        out = _soft_call(fn, x, 0.3)
        _compare(out, _reference_soft_threshold(x, 0.3), f"for x of shape {x.shape}, your output")


def _soft_inplace(fn, x, t):
    student = x.copy()
    _call(fn, student, t, copy=False)
    _unchanged(x, student, "x", "np.sign(x) * np.maximum(np.abs(x) - t, 0)")


# ----------------------------------------------------------------------------------------------
# Inverted dropout


def dropout_forward(fn) -> Report:
    """Check ``fn(x, p, rng) -> (out, mask)``: inverted dropout with drop probability ``p``,
    random numbers from the ``numpy.random.Generator`` ``rng``.

    Checks: shapes; a 0/1 mask; out zero exactly where the mask is 0; out = x·mask/(1 − p)
    against ``regcourse.numpy.Dropout`` with your mask; the kept fraction ≈ 1 − p and
    E[out] ≈ x within 5 standard errors; one mask per entry; p = 0 is the identity; the
    same seed gives the same mask and another seed another; vectors and 3-D arrays;
    x left unchanged.
    """
    x, p = _data(6, (200, 50), 0.5, 1.5), 0.3  # positive, never 0
    return _run(
        "dropout_forward",
        {"fn": fn},
        [
            _Check(
                "returns (out, mask), both of x's shape",
                partial(_dropout_call, fn, x, p, 0),
                essential=True,
            ),
            _Check(
                "the mask holds only 0 (dropped) and 1 (kept)",
                partial(_dropout_mask_values, fn, x, p),
            ),
            _Check("out is 0 exactly where the mask is 0", partial(_dropout_zeros, fn, x, p)),
            _Check("out = x · mask / (1 − p)", partial(_dropout_scale, fn, x, p)),
            _Check(
                "keeps a fraction ≈ 1 − p of the entries (statistical check)",
                partial(_dropout_fraction, fn, x, p),
            ),
            _Check(
                "draws a separate mask for every entry", partial(_dropout_independent, fn, x, p)
            ),
            _Check(
                "E[out] ≈ x: out's mean matches x's (statistical check)",
                partial(_dropout_mean, fn, x, p),
            ),
            _Check("p = 0 returns x, with a mask of ones", partial(_dropout_p_zero, fn, x)),
            _Check(
                "uses rng: the same seed gives the same mask, another seed another",
                partial(_dropout_seed, fn, x, p),
            ),
            _Check("works for any shape (a vector, a 3-D array)", partial(_dropout_shapes, fn)),
            _Check("leaves x unchanged", partial(_dropout_inplace, fn, x, p)),
        ],
    )


def _dropout_call(fn, x, p, seed, nan_hint=""):
    result = _call(fn, x, p, np.random.default_rng(seed))
    out, mask = _unpack(result, ("out", "mask"))
    return _array(out, "your out", x.shape, nan_hint=nan_hint), _array(mask, "your mask", x.shape)


def _reference_dropout(x, kept, p):
    """The package's Dropout layer applied with a given mask of kept entries."""
    layer = Dropout(p)
    layer.mask = np.asarray(kept, dtype=bool)
    return layer.freeze_mask()(x)


def _dropout_mask_values(fn, x, p):
    _, mask = _dropout_call(fn, x, p, 0)
    values = np.unique(mask)
    if np.isin(values, (0.0, 1.0)).all():
        return
    if np.allclose(values[values != 0], 1 / (1 - p)):
        _fail(
            f"your mask holds 0 and 1/(1 − p) = {1 / (1 - p):.3g}: return the 0/1 mask "
            "(1 = kept) and apply the rescaling to out only"
        )
    _fail(f"your mask should hold only 0 (dropped) and 1 (kept); it holds {_fmt(values)}")


def _dropout_zeros(fn, x, p):
    out, mask = _dropout_call(fn, x, p, 0)
    kept = mask != 0
    if np.all(out[kept] == 0) and np.all(out[~kept] != 0):
        _fail(
            "out is 0 where your mask is 1 and nonzero where it is 0: is your mask inverted? "
            "1 should mean kept"
        )
    if np.any(out[~kept] != 0):
        _fail(
            f"out is nonzero at {int(np.sum(out[~kept] != 0))} entries where your mask is 0: "
            "dropped entries must be exactly 0"
        )
    if np.any(out[kept] == 0):
        _fail(
            f"out is 0 at {int(np.sum(out[kept] == 0))} entries your mask keeps "
            "(x has no zeros): multiply x by the mask"
        )


def _dropout_scale(fn, x, p):
    out, mask = _dropout_call(fn, x, p, 0)
    m = (mask != 0).astype(np.float64)
    q = 1 - p
    suspects = [
        (
            x * m,
            f"your kept values equal x, not x / (1 − p): did you forget to rescale by "
            f"1/(1−p)? Without it, out's mean is only (1 − p) = {q:.2f}× x's",
        ),
        (x * m / p, "you divided by p; divide by the keep probability, 1 − p"),
        (
            x * m * q,
            "you multiplied by (1 − p), which is vanilla dropout's scaling at "
            "evaluation; inverted dropout divides the kept entries by (1 − p)",
        ),
        (
            x * (1 - m) / q,
            "out is x/(1 − p) where your mask is 0: is your mask inverted? 1 should mean kept",
        ),
        (x / q, "you rescaled every entry but did not apply the mask"),
    ]
    _compare(out, _reference_dropout(x, m, p), "your out", suspects)


def _dropout_fraction(fn, x, p):
    _, mask = _dropout_call(fn, x, p, 0)
    kept, q = float(np.mean(mask != 0)), 1 - p
    margin = SIGMAS * np.sqrt(p * q / mask.size)
    if abs(kept - q) <= margin:
        return f"kept {kept:.1%}, expected {q:.0%} ± {margin:.1%}"
    if abs(kept - p) <= margin:
        _fail(
            f"you kept {kept:.1%} of the entries, about p = {p}: did you use p as the keep "
            f"probability? p is the probability of dropping an entry, so keep each with "
            f"probability 1 − p = {q:.1f}: mask = rng.random(x.shape) >= p"
        )
    _fail(f"you kept {kept:.1%} of the entries, expected 1 − p = {q:.0%} ± {margin:.1%}")


def _dropout_independent(fn, x, p):
    _, mask = _dropout_call(fn, x, p, 0)
    if np.all(mask == mask[:1]):
        _fail(
            "your mask is the same for every sample (row): draw one random number per entry, "
            "rng.random(x.shape)"
        )
    if np.all(mask == mask[:, :1]):
        _fail(
            "your mask is the same for every feature (column): draw one random number per "
            "entry, rng.random(x.shape)"
        )


def _dropout_mean(fn, x, p):
    out, _ = _dropout_call(fn, x, p, 1)
    q = 1 - p
    ratio = out.sum() / x.sum()
    margin = SIGMAS * np.sqrt(np.sum(x**2) * p / q) / x.sum()  # standard error of the ratio
    if abs(ratio - 1) <= margin:
        return f"out's mean is {ratio:.3f}× x's, expected 1 ± {margin:.3f}"
    start = f"your output's mean is {ratio:.2f}× the input's, expected 1 ± {margin:.2f}"
    if abs(ratio - q) <= margin:
        _fail(f"{start}: did you forget to rescale by 1/(1−p)?")
    if abs(ratio - p / q) <= margin:
        _fail(f"{start}: did you use p as the keep probability? Keep with probability 1 − p")
    _fail(f"{start}: inverted dropout keeps the expected value, E[out] = x")


def _dropout_p_zero(fn, x):
    out, mask = _dropout_call(fn, x, 0.0, 0, nan_hint=" with p = 0: did you divide by p?")
    _compare(out, x, "with p = 0 your out")
    if not np.all(mask == 1):
        _fail("with p = 0 nothing is dropped, so the mask should be all ones")


def _dropout_seed(fn, x, p):
    out_a, mask_a = _dropout_call(fn, x, p, 7)
    out_b, mask_b = _dropout_call(fn, x, p, 7)
    if not (np.array_equal(mask_a, mask_b) and np.array_equal(out_a, out_b)):
        _fail(
            "two calls with generators seeded alike, np.random.default_rng(7), gave different "
            "results: draw your random numbers from the rng argument, e.g. "
            "rng.random(x.shape), not from np.random"
        )
    _, mask_c = _dropout_call(fn, x, p, 8)
    if np.array_equal(mask_a, mask_c):
        _fail(
            "generators with different seeds gave the same mask: use the rng you are given, "
            "not a generator of your own with a fixed seed"
        )


def _dropout_shapes(fn):
    for shape in ((7,), (2, 3, 4)):
        x = _data(10, shape, 0.5, 1.5)
        out, mask = _dropout_call(fn, x, 0.25, 3)
        expected = _reference_dropout(x, mask != 0, 0.25)
        _compare(out, expected, f"for x of shape {shape}, your out (with your mask)")


def _dropout_inplace(fn, x, p):
    student = x.copy()
    _call(fn, student, p, np.random.default_rng(0), copy=False)
    _unchanged(x, student, "x", "x * mask / (1 - p)")


# ----------------------------------------------------------------------------------------------
# Batch normalization


def _bn_case(seed: int, n: int, d: int):
    """An (n, d) batch whose features have different means and spreads, and gamma, beta."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * rng.uniform(0.5, 5.0, d) + rng.uniform(-5.0, 5.0, d)
    gamma = rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d)
    return x, gamma, rng.uniform(-1.0, 1.0, d)


def _bn_layer(x, gamma, beta, eps):
    """The package's BatchNorm1d in training mode with the given parameters, run on x."""
    layer = BatchNorm1d(x.shape[1], eps=eps)
    layer.weight.data[...] = gamma
    layer.bias.data[...] = beta
    return layer, layer(x)


def _bn_reference(x, gamma, beta, eps):
    return _bn_layer(x, gamma, beta, eps)[1]


def _bn_call(fn, x, gamma, beta, eps, who="your function", nan_hint=""):
    out, cache = _unpack(_call(fn, x, gamma, beta, eps, who=who), ("out", "cache"), who)
    hints = {(x.shape[1],): ": one value per feature; return the whole normalized batch"}
    what = "your out" if who == "your function" else f"{who}'s out"
    return _array(out, what, x.shape, hints, nan_hint), cache


def batchnorm_forward(fn) -> Report:
    """Check ``fn(x, gamma, beta, eps) -> (out, cache)``: batch norm in training mode on an
    (N, D) batch, normalized with the biased batch variance as ``torch.nn.BatchNorm1d``.

    Checks: out's shape; per-feature mean 0 and std 1 before the affine map; out against
    ``regcourse.numpy.BatchNorm1d``; eps inside the square root; a constant feature;
    other shapes; x left unchanged.
    """
    x, gamma, beta = _bn_case(7, 8, 5)
    case = (x, gamma, beta, 1e-5)
    return _run(
        "batchnorm_forward",
        {"fn": fn},
        [
            _Check(
                "returns (out, cache) with out of x's shape (N, D)",
                partial(_bn_call, fn, *case),
                essential=True,
            ),
            _Check(
                "each feature has mean 0 over the batch (gamma = 1, beta = 0)",
                partial(_bn_mean, fn, x),
            ),
            _Check(
                "each feature has std 1 over the batch, with the biased variance",
                partial(_bn_std, fn, x),
            ),
            _Check(
                "out = gamma · x̂ + beta, as torch.nn.BatchNorm1d in training",
                partial(_bn_affine, fn, *case),
            ),
            _Check(
                "eps goes inside the square root: x̂ = (x − mean) / sqrt(var + eps)",
                partial(_bn_eps, fn, x, gamma, beta),
            ),
            _Check(
                "a feature that is constant over the batch gives beta, not NaN",
                partial(_bn_constant, fn, x, gamma, beta),
            ),
            _Check("works for other shapes (N = 2, D = 1; N = 3, D = 7)", partial(_bn_shapes, fn)),
            _Check("leaves x unchanged", partial(_bn_inplace, fn, *case)),
        ],
    )


def _bn_standard(fn, x):
    """The student's output with gamma = 1 and beta = 0: x̂ itself."""
    ones, zeros = np.ones(x.shape[1]), np.zeros(x.shape[1])
    out = _bn_call(fn, x, ones, zeros, 1e-5)[0]
    if np.allclose(out, 1.0):
        _fail(
            "with gamma = 1 and beta = 0 your out is 1 everywhere: did you swap gamma and beta? "
            "out = gamma · x̂ + beta"
        )
    return out


def _bn_mean(fn, x):
    out = _bn_standard(fn, x)
    means = out.mean(axis=0)
    if np.allclose(means, 0.0, atol=1e-7):
        return
    if np.allclose(out.mean(axis=1), 0.0, atol=1e-7):
        _fail(
            "each sample (row) has mean 0 but the features (columns) do not: batch norm "
            "takes the statistics over the batch, axis=0; over the features, axis=1, "
            "it would be layer norm"
        )
    _fail(
        f"your per-feature means are {_fmt(means)} instead of 0: subtract each feature's "
        "batch mean, x.mean(axis=0)"
    )


def _bn_std(fn, x):
    out = _bn_standard(fn, x)
    n, var = len(x), x.var(axis=0)
    expected = np.sqrt(var / (var + 1e-5))  # 1, but for eps
    stds = out.std(axis=0)
    if _close(stds, expected, rtol=1e-3):
        return
    unbiased = np.sqrt((n - 1) / n)
    suspects = [
        (
            expected * unbiased,
            f"your per-feature std is {unbiased:.3f} = √((N − 1)/N) with "
            f"N = {n}, not 1: did you use the unbiased variance (ddof=1)? "
            "Batch norm normalizes with the biased variance, x.var(axis=0) "
            "(ddof=0), as torch.nn.BatchNorm1d does in training",
        ),
        (
            np.sqrt(var) / (var + 1e-5),
            "did you divide by the variance instead of the standard deviation sqrt(var + eps)?",
        ),
        (
            np.sqrt(var),
            "out has x's spread: did you forget to divide by the standard "
            "deviation sqrt(var + eps)?",
        ),
    ]
    for candidate, hint in suspects:
        if _close(stds, candidate, rtol=1e-3):
            _fail(hint)
    _fail(f"your per-feature stds are {_fmt(stds)} instead of 1")


def _bn_variants(x, gamma, beta, eps):
    """Typical wrong forwards, each with the hint that explains it."""
    mean, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mean) / np.sqrt(var + eps)
    z = gamma * x + beta
    rows = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    unbiased = (x - mean) / np.sqrt(x.var(axis=0, ddof=1) + eps)
    return [
        (x_hat * beta + gamma, "you swapped gamma and beta: out = gamma · x̂ + beta"),
        (x_hat + beta, "you forgot to multiply by gamma: out = gamma · x̂ + beta"),
        (gamma * x_hat, "you forgot to add beta: out = gamma · x̂ + beta"),
        (x_hat, "you applied neither gamma nor beta: out = gamma · x̂ + beta"),
        (
            (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps),
            "you applied gamma and beta before normalizing, which undoes them: normalize first, "
            "then out = gamma · x̂ + beta",
        ),
        (
            gamma * unbiased + beta,
            "you used the unbiased variance (ddof=1); batch norm "
            "normalizes with the biased one, x.var(axis=0)",
        ),
        (
            gamma * rows + beta,
            "you normalized each sample over its features (axis=1, layer "
            "norm); batch norm uses the batch statistics, axis=0",
        ),
        (gamma * (x - mean) / np.sqrt(var) + beta, "you left out eps: divide by sqrt(var + eps)"),
        (
            gamma * (x - mean) / (np.sqrt(var) + eps) + beta,
            "you added eps to the standard deviation; add it to the variance: sqrt(var + eps)",
        ),
    ]


def _bn_affine(fn, x, gamma, beta, eps):
    out, _ = _bn_call(fn, x, gamma, beta, eps)
    expected = _bn_reference(x, gamma, beta, eps)
    _compare(out, expected, "your out", _bn_variants(x, gamma, beta, eps))


def _bn_eps(fn, x, gamma, beta):
    eps = 0.5  # large enough to change the output visibly
    out, _ = _bn_call(fn, x, gamma, beta, eps)
    mean, std = x.mean(axis=0), x.std(axis=0)
    suspects = [
        (
            _bn_reference(x, gamma, beta, 0.0),
            "your output does not change with eps: normalize by sqrt(var + eps)",
        ),
        (
            _bn_reference(x, gamma, beta, 1e-5),
            "your output ignores the eps argument: did you "
            "hard-code eps? Use the one you are given",
        ),
        (
            gamma * (x - mean) / (std + eps) + beta,
            "you added eps to the standard deviation; add it to the variance: sqrt(var + eps)",
        ),
    ]
    _compare(out, _bn_reference(x, gamma, beta, eps), "with eps = 0.5 your out", suspects)


def _bn_constant(fn, x, gamma, beta):
    x = x.copy()
    x[:, 2] = 3.0
    hint = (
        ": a feature that is constant over the batch has variance 0, and (x − mean)/sqrt(var)"
        " is then 0/0; that is what eps is for: sqrt(var + eps)"
    )
    out, _ = _bn_call(fn, x, gamma, beta, 1e-5, nan_hint=hint)
    _compare(out, _bn_reference(x, gamma, beta, 1e-5), "with a constant feature your out")


def _bn_shapes(fn):
    for seed, (n, d) in enumerate(((2, 1), (3, 7))):
        x, gamma, beta = _bn_case(seed, n, d)
        out, _ = _bn_call(fn, x, gamma, beta, 1e-5)
        _compare(out, _bn_reference(x, gamma, beta, 1e-5), f"for x of shape {(n, d)}, your out")


def _bn_inplace(fn, x, gamma, beta, eps):
    student = x.copy()
    _call(fn, student, gamma, beta, eps, copy=False)
    _unchanged(x, student, "x", "x - mean, not x -= mean")


# ----------------------------------------------------------------------------------------------
# Batch normalization, backward

_GRADS = ("dx", "dgamma", "dbeta")


def batchnorm_backward(forward, backward) -> Report:
    """Check ``backward(dout, cache) -> (dx, dgamma, dbeta)``, with the cache that your own
    ``forward(x, gamma, beta, eps) -> (out, cache)`` returns.

    Checks: your forward against the reference (the gradients are checked against it);
    three gradients of the right shapes; each of dx, dgamma and dbeta against central
    differences of your forward and against ``regcourse.numpy.BatchNorm1d.backward``;
    other shapes; dout left unchanged.
    """
    x, gamma, beta = _bn_case(8, 6, 4)
    case = (x, gamma, beta, 1e-5, _data(9, (6, 4)))
    pair = (forward, backward)
    return _run(
        "batchnorm_backward",
        {"forward": forward, "backward": backward},
        [
            _Check(
                "your forward returns (out, cache) with out of x's shape",
                partial(_bn_call, forward, *case[:4], who="your forward"),
                essential=True,
            ),
            _Check(
                "your forward matches the reference forward", partial(_bn_forward_ok, forward, case)
            ),
            _Check(
                "backward returns (dx, dgamma, dbeta)",
                partial(_bn_gradients, *pair, case),
                essential=True,
            ),
            _Check(
                "dx: numerical gradient check through your forward, and the reference",
                partial(_bn_grad_check, *pair, case, "dx"),
            ),
            _Check(
                "dgamma = Σ over the batch of dout · x̂ (numerical check and reference)",
                partial(_bn_grad_check, *pair, case, "dgamma"),
            ),
            _Check(
                "dbeta = Σ over the batch of dout (numerical check and reference)",
                partial(_bn_grad_check, *pair, case, "dbeta"),
            ),
            _Check(
                "works for other shapes (N = 2, D = 3; N = 10, D = 1)",
                partial(_bn_backward_shapes, *pair),
            ),
            _Check("leaves dout unchanged", partial(_bn_backward_inplace, *pair, case)),
        ],
    )


def _bn_forward_ok(forward, case):
    x, gamma, beta, eps, _ = case
    out, _ = _bn_call(forward, x, gamma, beta, eps, who="your forward")
    expected = _bn_reference(x, gamma, beta, eps)
    if not _close(out, expected):
        _fail(
            f"{_mismatch(out, expected, 'your out')}: run check.batchnorm_forward on your "
            "forward first; the gradients below are checked both against central "
            "differences of your forward and against the reference"
        )


def _bn_gradients(forward, backward, case, dout=None):
    """The student's (dx, dgamma, dbeta), as returned, from their own forward's cache."""
    x, gamma, beta, eps, upstream = case
    _, cache = _bn_call(forward, x, gamma, beta, eps, who="your forward")
    dout = upstream.copy() if dout is None else dout
    result = _call(backward, dout, cache, who="your backward", copy=False)
    return _unpack(result, _GRADS, "your backward")


def _bn_grad_shapes(which, n, d):
    shapes = {"dx": (n, d), "dgamma": (d,), "dbeta": (d,)}
    total = "dout · x̂" if which == "dgamma" else "dout"
    per_sample = (
        f": one value per sample; sum {total} over the batch, axis=0, to get one per feature"
    )
    hints = {
        (n,): per_sample,
        (n, d): f": one value per entry; sum {total} over the batch, axis=0",
        (1, d): ": keepdims=True? Return one value per feature, shape (D,), as gamma has",
    }
    return shapes[which], ({} if which == "dx" else hints)


def _bn_reference_grads(case):
    x, gamma, beta, eps, dout = case
    layer, _ = _bn_layer(x, gamma, beta, eps)
    dx = layer.backward(dout)
    return {"dx": dx, "dgamma": layer.weight.grad.copy(), "dbeta": layer.bias.grad.copy()}


def _bn_numerical(forward, case, which):
    """Central differences of sum(forward(...)[0] * dout) in x, gamma or beta."""
    x, gamma, beta, eps, dout = case
    inputs = dict(zip(_GRADS, (x, gamma, beta)))
    point = inputs[which].copy()

    def loss():
        args = {**inputs, which: point}
        out, _ = _bn_call(forward, args["dx"], args["dgamma"], args["dbeta"], eps, "your forward")
        return float(np.sum(out * dout))

    return numerical_gradient(loss, point)


def _bn_grad_suspects(case):
    """Typical wrong gradients, each with the hint that explains it."""
    x, gamma, beta, eps, dout = case
    inv_sigma = 1.0 / np.sqrt(x.var(axis=0, keepdims=True) + eps)
    x_hat = (x - x.mean(axis=0)) * inv_sigma
    mean_dy, mean_dy_xhat = dout.mean(axis=0), (dout * x_hat).mean(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    return {
        "dx": [
            (
                gamma * dout * inv_sigma,
                "you treated the batch mean and variance as constants; they depend on x too, "
                "which adds two terms: dx = gamma/σ · (dout − mean(dout) − x̂ · mean(dout · x̂))",
            ),
            (
                normalize_backward(dout, x_hat, inv_sigma, 0),
                "you forgot the factor gamma: out = gamma · x̂ + beta, so the gradient reaching x̂ "
                "is gamma · dout",
            ),
            (
                gamma * inv_sigma * (dout - mean_dy),
                "you left out the path through the variance: subtract x̂ · mean(dout · x̂) too",
            ),
            (
                gamma * inv_sigma * (dout - x_hat * mean_dy_xhat),
                "you left out the path through the mean: subtract mean(dout) too",
            ),
        ],
        "dgamma": [
            (
                (dout * x).sum(axis=0),
                "you used x; dgamma uses the normalized input x̂: (dout * x_hat).sum(axis=0)",
            ),
            (dout.sum(axis=0), "that is dbeta's formula; dgamma = (dout * x_hat).sum(axis=0)"),
            (
                (dout * (gamma * x_hat + beta)).sum(axis=0),
                "you used the output gamma · x̂ + beta; dgamma uses x̂: (dout * x_hat).sum(axis=0)",
            ),
            (
                dgamma / len(x),
                "you averaged over the batch; dgamma sums: (dout * x_hat).sum(axis=0)",
            ),
        ],
        "dbeta": [
            (
                dgamma,
                "that is dgamma's formula; dbeta is the sum of dout over the batch, "
                "dout.sum(axis=0)",
            ),
            (
                mean_dy,
                "your dbeta is 1/N of the expected: you averaged over the batch; dbeta "
                "sums, dout.sum(axis=0)",
            ),
            (
                gamma * dout.sum(axis=0),
                "beta is added after the scaling, so dbeta has no gamma: dbeta = dout.sum(axis=0)",
            ),
        ],
    }


def _bn_grad_check(forward, backward, case, which):
    x = case[0]
    shape, hints = _bn_grad_shapes(which, *x.shape)
    raw = dict(zip(_GRADS, _bn_gradients(forward, backward, case)))
    got = _array(raw[which], f"your {which}", shape, hints)
    numeric = _bn_numerical(forward, case, which)
    reference = _bn_reference_grads(case)[which]
    error = _rel_error(got, numeric)
    matches_numeric, matches_reference = error <= GRAD_TOL, _close(got, reference)
    if matches_numeric and matches_reference:
        return f"relative error {error:.1e} against central differences"
    if matches_numeric or matches_reference:
        which_not = "the reference" if matches_numeric else "central differences of your forward"
        _fail(
            f"your {which} matches {'central differences' if matches_numeric else 'the reference'}"
            f" but not {which_not}: your forward differs from the reference (see above)"
        )
    try:
        _compare(got, reference, f"your {which}", _bn_grad_suspects(case)[which])
    except _Fail as failure:
        out, _ = _bn_call(forward, *case[:4], who="your forward")
        if _close(out, _bn_reference(*case[:4])):
            raise
        _fail(f"{failure}\n(your forward differs from the reference too, see above)")


def _bn_backward_shapes(forward, backward):
    for seed, (n, d) in enumerate(((2, 3), (10, 1))):
        x, gamma, beta = _bn_case(seed, n, d)
        case = (x, gamma, beta, 1e-5, _data(seed, (n, d)))
        raw = _bn_gradients(forward, backward, case)
        reference = _bn_reference_grads(case)
        for which, value in zip(_GRADS, raw):
            shape, hints = _bn_grad_shapes(which, n, d)
            got = _array(value, f"for x of shape {(n, d)}, your {which}", shape, hints)
            _compare(got, reference[which], f"for x of shape {(n, d)}, your {which}")


def _bn_backward_inplace(forward, backward, case):
    dout = case[-1].copy()
    _bn_gradients(forward, backward, case, dout=dout)
    _unchanged(case[-1], dout, "dout", "dout * gamma, not dout *= gamma", "your backward")


# ----------------------------------------------------------------------------------------------
# Layer normalization, forward


def _ln_case(seed: int, shape):
    """A batch whose samples have different means and spreads, and gamma, beta of the last
    axis's size."""
    rng = np.random.default_rng(seed)
    d = shape[-1]
    scale = rng.uniform(0.5, 5.0, shape[:-1] + (1,))
    x = rng.standard_normal(shape) * scale + rng.uniform(-5.0, 5.0, shape[:-1] + (1,))
    gamma = rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d)
    return x, gamma, rng.uniform(-1.0, 1.0, d)


def _ln_reference(x, gamma, beta, eps):
    layer = LayerNorm(x.shape[-1], eps=eps)
    layer.weight.data[...] = gamma
    layer.bias.data[...] = beta
    return layer(x)


def _ln_call(fn, x, gamma, beta, eps, nan_hint=""):
    out, cache = _unpack(_call(fn, x, gamma, beta, eps), ("out", "cache"))
    hints = {
        x.shape[:-1]: ": one value per sample; return the whole normalized batch",
        (x.shape[-1],): ": one value per feature; return the whole normalized batch",
    }
    return _array(out, "your out", x.shape, hints, nan_hint), cache


def layernorm_forward(fn) -> Report:
    """Check ``fn(x, gamma, beta, eps) -> (out, cache)``: layer norm of x (N, D), or any
    (..., D), with the statistics of each sample over its last axis, as ``torch.nn.LayerNorm(D)``.

    Checks: out's shape; per-sample mean 0 and std 1 (biased variance) before the affine map;
    out against ``regcourse.numpy.LayerNorm``; eps inside the square root; a sample's output
    does not depend on the rest of the batch (N = 1 works); a constant sample; a 3-D input
    (N, T, D); x left unchanged.
    """
    x, gamma, beta = _ln_case(11, (8, 5))
    case = (x, gamma, beta, 1e-5)
    return _run(
        "layernorm_forward",
        {"fn": fn},
        [
            _Check(
                "returns (out, cache) with out of x's shape (N, D)",
                partial(_ln_call, fn, *case),
                essential=True,
            ),
            _Check(
                "each sample (row) has mean 0 over its features (gamma = 1, beta = 0)",
                partial(_ln_mean, fn, x),
            ),
            _Check(
                "each sample has std 1 over its features, with the biased variance",
                partial(_ln_std, fn, x),
            ),
            _Check(
                "out = gamma · x̂ + beta, as torch.nn.LayerNorm",
                partial(_ln_affine, fn, *case),
            ),
            _Check(
                "eps goes inside the square root: x̂ = (x − mean) / sqrt(var + eps)",
                partial(_ln_eps, fn, x, gamma, beta),
            ),
            _Check(
                "each sample is normalized on its own: a batch of one (N = 1) gives the same row",
                partial(_ln_single, fn, *case),
            ),
            _Check(
                "a sample whose features are all equal gives beta, not NaN",
                partial(_ln_constant, fn, x, gamma, beta),
            ),
            _Check(
                "works for a sequence batch (N, T, D), normalizing over the last axis",
                partial(_ln_shapes, fn),
            ),
            _Check("leaves x unchanged", partial(_ln_inplace, fn, *case)),
        ],
    )


def _ln_standard(fn, x):
    d = x.shape[-1]
    out = _ln_call(fn, x, np.ones(d), np.zeros(d), 1e-5)[0]
    if np.allclose(out, 1.0):
        _fail(
            "with gamma = 1 and beta = 0 your out is 1 everywhere: did you swap gamma and beta? "
            "out = gamma · x̂ + beta"
        )
    return out


def _ln_mean(fn, x):
    out = _ln_standard(fn, x)
    means = out.mean(axis=-1)
    if np.allclose(means, 0.0, atol=1e-7):
        return
    if np.allclose(out.mean(axis=0), 0.0, atol=1e-7):
        _fail(
            "each feature (column) has mean 0 but the samples (rows) do not: you took the "
            "statistics over the batch, axis=0, which is batch norm; layer norm normalizes each "
            "sample over its features: x.mean(axis=-1, keepdims=True)"
        )
    _fail(
        f"your per-sample means are {_fmt(means)} instead of 0: subtract each sample's mean "
        "over its features, x.mean(axis=-1, keepdims=True)"
    )


def _ln_std(fn, x):
    out = _ln_standard(fn, x)
    d, var = x.shape[-1], x.var(axis=-1)
    expected = np.sqrt(var / (var + 1e-5))
    stds = out.std(axis=-1)
    if _close(stds, expected, rtol=1e-3):
        return
    unbiased = np.sqrt((d - 1) / d)
    suspects = [
        (
            expected * unbiased,
            f"your per-sample std is {unbiased:.3f} = √((D − 1)/D) with D = {d}, not 1: did you "
            "use the unbiased variance (ddof=1)? Layer norm normalizes with the biased variance, "
            "x.var(axis=-1, keepdims=True) (ddof=0), as torch.nn.LayerNorm does",
        ),
        (
            np.sqrt(var) / (var + 1e-5),
            "did you divide by the variance instead of the standard deviation sqrt(var + eps)?",
        ),
        (
            np.sqrt(var),
            "out has x's spread: did you forget to divide by the standard deviation "
            "sqrt(var + eps)?",
        ),
    ]
    for candidate, hint in suspects:
        if _close(stds, candidate, rtol=1e-3):
            _fail(hint)
    _fail(f"your per-sample stds are {_fmt(stds)} instead of 1")


def _ln_variants(x, gamma, beta, eps):
    """Typical wrong forwards, each with the hint that explains it."""
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + eps)
    cols = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    unbiased = (x - mean) / np.sqrt(x.var(axis=-1, ddof=1, keepdims=True) + eps)
    z = gamma * x + beta
    z_hat = (z - z.mean(axis=-1, keepdims=True)) / np.sqrt(z.var(axis=-1, keepdims=True) + eps)
    return [
        (x_hat * beta + gamma, "you swapped gamma and beta: out = gamma · x̂ + beta"),
        (x_hat + beta, "you forgot to multiply by gamma: out = gamma · x̂ + beta"),
        (gamma * x_hat, "you forgot to add beta: out = gamma · x̂ + beta"),
        (x_hat, "you applied neither gamma nor beta: out = gamma · x̂ + beta"),
        (
            gamma * cols + beta,
            "you normalized each feature over the batch (axis=0, batch norm); layer norm "
            "normalizes each sample over its features: axis=-1, keepdims=True",
        ),
        (
            gamma * unbiased + beta,
            "you used the unbiased variance (ddof=1); layer norm normalizes with the biased one, "
            "x.var(axis=-1, keepdims=True)",
        ),
        (
            z_hat,
            "you applied gamma and beta before normalizing, which undoes them: normalize first, "
            "then out = gamma · x̂ + beta",
        ),
        (
            gamma * (x - mean) / np.sqrt(var) + beta,
            "you left out eps: divide by sqrt(var + eps)",
        ),
        (
            gamma * (x - mean) / (np.sqrt(var) + eps) + beta,
            "you added eps to the standard deviation; add it to the variance: sqrt(var + eps)",
        ),
    ]


def _ln_affine(fn, x, gamma, beta, eps):
    out, _ = _ln_call(fn, x, gamma, beta, eps)
    _compare(out, _ln_reference(x, gamma, beta, eps), "your out", _ln_variants(x, gamma, beta, eps))


def _ln_eps(fn, x, gamma, beta):
    eps = 0.5
    out, _ = _ln_call(fn, x, gamma, beta, eps)
    mean, std = x.mean(axis=-1, keepdims=True), x.std(axis=-1, keepdims=True)
    suspects = [
        (
            _ln_reference(x, gamma, beta, 0.0),
            "your output does not change with eps: normalize by sqrt(var + eps)",
        ),
        (
            _ln_reference(x, gamma, beta, 1e-5),
            "your output ignores the eps argument: did you hard-code eps? Use the one you are "
            "given",
        ),
        (
            gamma * (x - mean) / (std + eps) + beta,
            "you added eps to the standard deviation; add it to the variance: sqrt(var + eps)",
        ),
    ]
    _compare(out, _ln_reference(x, gamma, beta, eps), "with eps = 0.5 your out", suspects)


def _ln_single(fn, x, gamma, beta, eps):
    row = x[2:3]
    out, _ = _ln_call(fn, row, gamma, beta, eps, nan_hint=": for a batch of one sample")
    expected = _ln_reference(x, gamma, beta, eps)[2:3]
    if _close(out, expected):
        return
    if _close(out, np.broadcast_to(beta, row.shape), rtol=1e-4):
        _fail(
            "a batch of one sample gives beta: you normalized over the batch (axis=0); "
            "layer norm uses each sample's own features, axis=-1"
        )
    _compare(out, expected, "for the batch x[2:3] your out (it should equal row 2 of the batch)")


def _ln_constant(fn, x, gamma, beta):
    x = x.copy()
    x[3] = 2.5
    hint = (
        ": a sample whose features are all equal has variance 0, and (x − mean)/sqrt(var) is "
        "then 0/0; that is what eps is for: sqrt(var + eps)"
    )
    out, _ = _ln_call(fn, x, gamma, beta, 1e-5, nan_hint=hint)
    _compare(out, _ln_reference(x, gamma, beta, 1e-5), "with a constant sample your out")


def _ln_shapes(fn):
    for seed, shape in enumerate(((4, 3, 6), (1, 2))):
        x, gamma, beta = _ln_case(seed, shape)
        out, _ = _ln_call(fn, x, gamma, beta, 1e-5)
        wrong_axis = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(
            x.var(axis=1, keepdims=True) + 1e-5
        )
        suspects = [
            (
                gamma * wrong_axis + beta,
                "you normalized over axis=1; for x of shape (N, T, D) that is the time axis: "
                "take the statistics over the last axis, axis=-1",
            )
        ]
        _compare(
            out, _ln_reference(x, gamma, beta, 1e-5), f"for x of shape {shape}, your out", suspects
        )


def _ln_inplace(fn, x, gamma, beta, eps):
    student = x.copy()
    _call(fn, student, gamma, beta, eps, copy=False)
    _unchanged(x, student, "x", "x - mean, not x -= mean")


# ----------------------------------------------------------------------------------------------
# Elastic net, proximal step


def _enet_reference(w, step, alpha, l1_ratio):
    return ElasticNet(alpha, l1_ratio).prox(w, step)


def _enet_objective(v, w, step, alpha, l1_ratio):
    """The function the proximal step minimizes, entry by entry."""
    penalty = alpha * (l1_ratio * np.abs(v) + 0.5 * (1 - l1_ratio) * v**2)
    return penalty + (v - w) ** 2 / (2 * step)


def elastic_net_prox(fn) -> Report:
    """Check ``fn(w, step, alpha, l1_ratio) -> w_new``: the proximal step of the elastic-net
    penalty alpha·(l1_ratio·‖w‖₁ + (1 − l1_ratio)/2·‖w‖²) (scikit-learn's convention):

        w_new = argmin_v  penalty(v) + ‖v − w‖² / (2·step)
              = soft_threshold(w, step·alpha·l1_ratio) / (1 + step·alpha·(1 − l1_ratio)).

    Checks: an array of w's shape; the values against
    ``regcourse.numpy.ElasticNet(alpha, l1_ratio).prox``; the result minimizes that objective
    (no nudge of an entry lowers it); exact zeros for |w| ≤ step·alpha·l1_ratio; l1_ratio = 1
    is the lasso's soft-thresholding and l1_ratio = 0 ridge's shrinkage; step = 0 returns w;
    vectors and 3-D arrays; w left unchanged.
    """
    w = 2.0 * _SOFT_X
    args = (0.5, 0.8, 0.6)  # step, alpha, l1_ratio: threshold 0.24, shrink factor 1/1.16
    return _run(
        "elastic_net_prox",
        {"fn": fn},
        [
            _Check(
                "returns an array of w's shape", partial(_enet_call, fn, w, *args), essential=True
            ),
            _Check(
                "w_new = soft_threshold(w, step·alpha·l1_ratio) / (1 + step·alpha·(1 − l1_ratio))",
                partial(_enet_values, fn, w, *args),
            ),
            _Check(
                "w_new minimizes penalty(v) + ‖v − w‖²/(2·step) (no nudge of an entry lowers it)",
                partial(_enet_minimizes, fn, w, *args),
            ),
            _Check(
                "entries with |w| ≤ step·alpha·l1_ratio become exactly 0",
                partial(_enet_zeros, fn, w, *args),
            ),
            _Check(
                "l1_ratio = 1 is soft-thresholding (lasso), l1_ratio = 0 is w / (1 + step·alpha)",
                partial(_enet_limits, fn, w),
            ),
            _Check("step = 0 returns w", partial(_enet_step_zero, fn, w)),
            _Check("works for any shape (a vector, a 3-D array)", partial(_enet_shapes, fn)),
            _Check("leaves w unchanged", partial(_enet_inplace, fn, w, *args)),
        ],
    )


def _enet_call(fn, w, step, alpha, l1_ratio, nan_hint=""):
    return _array(_call(fn, w, step, alpha, l1_ratio), "your w_new", w.shape, nan_hint=nan_hint)


def _enet_suspects(w, step, alpha, r):
    t, c = step * alpha * r, step * alpha * (1 - r)
    soft = _reference_soft_threshold
    return [
        (
            soft(w, alpha * r) / (1 + alpha * (1 - r)),
            "you left out step: the threshold is step·alpha·l1_ratio and the shrinkage "
            "1 + step·alpha·(1 − l1_ratio)",
        ),
        (
            soft(w, step * alpha * (1 - r)) / (1 + step * alpha * r),
            "you swapped l1_ratio and 1 − l1_ratio: l1_ratio weights the L1 part (the threshold "
            "step·alpha·l1_ratio), 1 − l1_ratio the L2 part (the division)",
        ),
        (
            soft(w / (1 + c), t),
            "you shrank first and thresholded after: threshold w by step·alpha·l1_ratio, then "
            "divide by 1 + step·alpha·(1 − l1_ratio)",
        ),
        (
            soft(w, t) * (1 - c),
            "you multiplied by 1 − step·alpha·(1 − l1_ratio), which is a gradient step on the L2 "
            "part; the proximal step divides: / (1 + step·alpha·(1 − l1_ratio))",
        ),
        (
            soft(w, t) / (1 + 2 * c),
            "you divided by 1 + 2·step·alpha·(1 − l1_ratio): the L2 part is (1 − l1_ratio)/2·‖w‖², "
            "the ½ cancels the 2, so divide by 1 + step·alpha·(1 − l1_ratio)",
        ),
        (soft(w, t), "you applied only the L1 part: divide by 1 + step·alpha·(1 − l1_ratio) too"),
        (
            w / (1 + c),
            "you applied only the L2 shrinkage: soft-threshold by step·alpha·l1_ratio first",
        ),
        (
            soft(w, step * alpha) / (1 + step * alpha),
            "you applied the full alpha to both parts: split it, step·alpha·l1_ratio for the "
            "threshold and step·alpha·(1 − l1_ratio) for the shrinkage",
        ),
        (
            w * (np.abs(w) > t) / (1 + c),
            "you set small entries to 0 but did not shrink the others by the threshold: that is "
            "hard thresholding; use soft-thresholding, sign(w)·max(|w| − t, 0)",
        ),
        (
            (w - t * np.sign(w)) / (1 + c),
            "entries with |w| < step·alpha·l1_ratio crossed zero instead of stopping at 0: clip "
            "at zero, sign(w)·max(|w| − t, 0)",
        ),
        (
            np.maximum(np.abs(w) - t, 0) / (1 + c),
            "your w_new is never negative: you lost the sign, sign(w)·max(|w| − t, 0)",
        ),
    ]


def _enet_values(fn, w, step, alpha, l1_ratio):
    got = _enet_call(fn, w, step, alpha, l1_ratio)
    expected = _enet_reference(w, step, alpha, l1_ratio)
    _compare(got, expected, "your w_new", _enet_suspects(w, step, alpha, l1_ratio))


def _enet_minimizes(fn, w, step, alpha, l1_ratio):
    v = _enet_call(fn, w, step, alpha, l1_ratio)
    base = _enet_objective(v, w, step, alpha, l1_ratio)
    worst = 0.0
    for delta in (1e-3, -1e-3):
        gain = base - _enet_objective(v + delta, w, step, alpha, l1_ratio)
        worst = max(worst, float(gain.max()))
        if gain.max() > 1e-12:
            i = tuple(int(k) for k in np.unravel_index(np.argmax(gain), w.shape))
            direction = "up" if delta > 0 else "down"
            _fail(
                f"your w_new is not the minimizer of penalty(v) + ‖v − w‖²/(2·step): moving "
                f"entry {i} {direction} by 0.001 (w = {w[i]:g}, yours {v[i]:.4g}) lowers it"
            )
    return "no nudge by ±0.001 lowers the objective"


def _enet_zeros(fn, w, step, alpha, l1_ratio):
    got = _enet_call(fn, w, step, alpha, l1_ratio)
    t = step * alpha * l1_ratio
    wrong = (np.abs(w) <= t) & (got != 0)
    if wrong.any():
        i = tuple(int(k) for k in np.argwhere(wrong)[0])
        _fail(
            f"entries with |w| ≤ step·alpha·l1_ratio = {t:g} should be exactly 0; at w = {w[i]:g} "
            f"yours is {got[i]:.3g}"
        )


def _enet_limits(fn, w):
    lasso = _enet_call(fn, w, 0.5, 0.8, 1.0)
    _compare(lasso, _reference_soft_threshold(w, 0.4), "with l1_ratio = 1 your w_new")
    ridge = _enet_call(fn, w, 0.5, 0.8, 0.0)
    _compare(ridge, w / 1.4, "with l1_ratio = 0 your w_new")


def _enet_step_zero(fn, w):
    hint = " with step = 0: did you divide by step?"
    _compare(_enet_call(fn, w, 0.0, 0.8, 0.6, nan_hint=hint), w, "with step = 0 your w_new")


def _enet_shapes(fn):
    for w in (_data(12, (7,)), _data(13, (2, 3, 4))):
        got = _enet_call(fn, w, 0.3, 1.5, 0.4)
        expected = _enet_reference(w, 0.3, 1.5, 0.4)
        _compare(got, expected, f"for w of shape {w.shape}, your w_new")


def _enet_inplace(fn, w, step, alpha, l1_ratio):
    student = w.copy()
    _call(fn, student, step, alpha, l1_ratio, copy=False)
    _unchanged(w, student, "w", "np.sign(w) * np.maximum(np.abs(w) - t, 0) / (1 + c)")


# ----------------------------------------------------------------------------------------------
# 1-D convolution, forward


def _conv_case(seed: int, n: int, c_in: int, c_out: int, length: int, k: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c_in, length))
    weight = rng.standard_normal((c_out, c_in, k))
    return x, weight, rng.uniform(0.5, 1.5, c_out) * rng.choice([-1.0, 1.0], c_out)


def _conv_reference(x, weight, bias, stride):
    c_out, c_in, k = weight.shape
    layer = Conv1d(c_in, c_out, k, stride=stride)
    layer.weight.data[...] = weight
    layer.bias.data[...] = bias
    return layer(x)


def _conv_out_length(length, k, stride):
    return (length - k) // stride + 1


def _conv_call(fn, x, weight, bias, stride):
    n, _, length = x.shape
    c_out, _, k = weight.shape
    l_out = _conv_out_length(length, k, stride)
    full = length - k + 1
    hints = {
        (n, c_out, length): f": L_out = L = {length}, as if padded; with no padding only the "
        f"{full} windows that fit inside x count, L_out = (L − K) // stride + 1",
        (n, c_out, full - 1): f": one window short; there are L − K + 1 = {full} windows at "
        "stride 1 (range(L - K + 1), not range(L - K))",
        (n, c_out, length - k): f": one window short; there are L − K + 1 = {full} windows at "
        "stride 1 (range(L - K + 1), not range(L - K))",
        (n, length - k + 1, c_out): ": channels and positions swapped? out is (N, C_out, L_out)",
        (n, l_out, c_out): ": channels and positions swapped? out is (N, C_out, L_out)",
    }
    if stride > 1:
        hints[(n, c_out, full)] = (
            f": {full} positions is stride 1; with stride {stride} the windows start at 0, "
            f"{stride}, {2 * stride}, ..., so L_out = (L − K) // stride + 1 = {l_out}"
        )
    return _array(_call(fn, x, weight, bias, stride), "your out", (n, c_out, l_out), hints)


def conv1d_forward(fn) -> Report:
    """Check ``fn(x, weight, bias, stride) -> out``: a 1-D convolution without padding, as
    ``torch.nn.Conv1d`` computes it (a cross-correlation: the kernel is not flipped), for
    x (N, C_in, L), weight (C_out, C_in, K), bias (C_out,):

        out[n, o, t] = bias[o] + Σ_c Σ_j weight[o, c, j] · x[n, c, stride·t + j],

    out of shape (N, C_out, L_out), L_out = (L − K) // stride + 1.

    Checks: out's shape; one channel at stride 1 against ``regcourse.numpy.Conv1d``; several
    input channels summed; the bias added once per output channel; stride 2 and 3; a kernel
    as long as x; x and weight left unchanged.
    """
    single = _conv_case(20, 2, 1, 1, 9, 3)
    multi = _conv_case(21, 3, 4, 2, 10, 3)
    return _run(
        "conv1d_forward",
        {"fn": fn},
        [
            _Check(
                "returns out of shape (N, C_out, L_out), L_out = (L − K) // stride + 1",
                partial(_conv_call, fn, *multi, 1),
                essential=True,
            ),
            _Check(
                "one channel, stride 1: out[t] = Σ_j weight[j] · x[t + j] + bias (not flipped)",
                partial(_conv_values, fn, *single, 1, "with one channel, your out"),
            ),
            _Check(
                "several channels: out[o] sums over every input channel c",
                partial(_conv_values, fn, *multi, 1, "with 4 input channels, your out"),
            ),
            _Check(
                "the bias is added once per output channel",
                partial(_conv_bias, fn, *multi),
            ),
            _Check(
                "stride: window t starts at stride·t (stride 2 and 3)",
                partial(_conv_stride, fn, *multi),
            ),
            _Check(
                "a kernel as long as x gives one output per channel",
                partial(_conv_full_kernel, fn),
            ),
            _Check("leaves x and weight unchanged", partial(_conv_inplace, fn, *multi)),
        ],
    )


def _conv_suspects(x, weight, bias, stride):
    c_in = x.shape[1]
    full = _conv_reference(x, weight, bias, 1)
    l_out = _conv_out_length(x.shape[2], weight.shape[2], stride)
    nobias = _conv_reference(x, weight, 0 * bias, stride)
    suspects = [
        (
            _conv_reference(x, weight[:, :, ::-1], bias, stride),
            "your kernel is flipped: that is the convolution of signal processing; "
            "torch.nn.Conv1d (and this course) computes a cross-correlation, "
            "out[t] = Σ_j weight[j] · x[stride·t + j], with the kernel as it is",
        ),
        (nobias, "you forgot the bias: add bias[o] to every position of output channel o"),
    ]
    if c_in > 1:
        suspects.append(
            (
                nobias + c_in * bias[:, None],
                f"you added the bias once per input channel ({c_in} times): add it once, "
                "after summing over the input channels",
            )
        )
    if stride > 1:
        suspects.append(
            (
                full[:, :, :l_out],
                f"you moved the window by 1 instead of by stride: window t starts at "
                f"stride·t = {stride}·t, out[t] uses x[{stride}·t : {stride}·t + K]",
            )
        )
    return suspects


def _conv_values(fn, x, weight, bias, stride, what):
    out = _conv_call(fn, x, weight, bias, stride)
    expected = _conv_reference(x, weight, bias, stride)
    _compare(out, expected, what, _conv_suspects(x, weight, bias, stride))


def _conv_bias(fn, x, weight, bias):
    zero = _conv_call(fn, x, weight, 0 * bias, 1)
    with_bias = _conv_call(fn, x, weight, bias, 1)
    shift = with_bias - zero
    expected = np.broadcast_to(bias[:, None], shift.shape[1:])
    if _close(shift, np.broadcast_to(expected, shift.shape)):
        return
    if _close(shift, np.zeros_like(shift)):
        _fail("your out does not change with the bias: add bias[o] to output channel o")
    if _close(shift, np.broadcast_to(x.shape[1] * expected, shift.shape)):
        _fail(
            f"changing the bias moves out by {x.shape[1]}× the bias: you added it once per input "
            "channel; add it once, after summing over the input channels"
        )
    _fail(
        "bias[o] should move every position of output channel o by bias[o] (out[:, o, :] + "
        "bias[o]); yours moves it by something else: check how bias is broadcast, "
        "bias[:, None] against (C_out, L_out)"
    )


def _conv_stride(fn, x, weight, bias):
    for stride in (2, 3):
        _conv_values(fn, x, weight, bias, stride, f"with stride {stride}, your out")


def _conv_full_kernel(fn):
    x, weight, bias = _conv_case(22, 2, 3, 2, 5, 5)
    _conv_values(fn, x, weight, bias, 1, "with K = L, your out")
    x, weight, bias = _conv_case(23, 1, 2, 3, 7, 1)
    _conv_values(fn, x, weight, bias, 2, "with K = 1 and stride 2, your out")


def _conv_inplace(fn, x, weight, bias):
    xs, ws = x.copy(), weight.copy()
    _call(fn, xs, ws, bias.copy(), 1, copy=False)
    _unchanged(x, xs, "x", "a new out array")
    _unchanged(weight, ws, "weight", "weight[:, :, ::-1] makes a view; copy before changing it")


# ----------------------------------------------------------------------------------------------
# Early stopping


def _es_reference(val_losses, patience, min_delta):
    """(best_epoch, stop_epoch) of ``regcourse.training.EarlyStopping`` fed these losses."""
    stopper = EarlyStopping(patience=patience, min_delta=min_delta)
    for loss in val_losses:
        if stopper.update(float(loss), lambda: None):
            break
    return stopper.best_epoch, stopper.stopped_epoch


def _es_int(value, what: str) -> int:
    if isinstance(value, bool | np.bool_):
        _fail(f"{what} should be an epoch number (an int), got {value}")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    _fail(f"{what} should be an epoch number (an int), got {_describe(value)}")


def _es_call(fn, val_losses, patience, min_delta):
    result = _call(fn, list(val_losses), patience, min_delta)
    best, stop = _unpack(result, ("best_epoch", "stop_epoch"))
    return _es_int(best, "your best_epoch"), _es_int(stop, "your stop_epoch")


# Validation curves, each chosen so that one typical mistake gives another answer.
_ES_CURVES = {
    "a U-shaped curve": [1.0, 0.8, 0.6, 0.5, 0.45, 0.47, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9],
    "a noisy curve": [1.0, 0.7, 0.72, 0.6, 0.65, 0.62, 0.64, 0.66, 0.61, 0.63, 0.7, 0.75],
    "a curve still falling": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
    "a curve with a later, lower minimum": [1.0, 0.5, 0.6, 0.7, 0.8, 0.2, 0.1],
    "tiny improvements": [1.0, 0.9, 0.899, 0.898, 0.897, 0.896, 0.895, 0.894],
    "a tie with the best": [1.0, 0.5, 0.5, 0.6, 0.7, 0.8],
}


def early_stopping(fn) -> Report:
    """Check ``fn(val_losses, patience, min_delta) -> (best_epoch, stop_epoch)``: replay early
    stopping, as ``regcourse.training.EarlyStopping`` does it, on a list of validation losses
    (epochs numbered from 0).

    Epoch t improves if ``val_losses[t] < best - min_delta`` (best: the lowest loss of the
    epochs that improved so far; nan never improves). ``best_epoch`` is the last epoch that
    improved (the weights restored), -1 if none did; ``stop_epoch`` is the epoch after which
    ``patience`` epochs in a row have not improved (training stops there; later losses are
    never seen), -1 if the list ends first.

    Checks: two integers; a U-shaped curve; patience counts epochs since the best, not since
    the last rise; the losses after stopping are ignored; a curve that never stops; min_delta
    (strict inequality); ties; nan; patience 1; a NumPy array works too; the list left unchanged.
    """
    u_curve = _ES_CURVES["a U-shaped curve"]
    return _run(
        "early_stopping",
        {"fn": fn},
        [
            _Check(
                "returns (best_epoch, stop_epoch), two integers",
                partial(_es_call, fn, u_curve, 3, 0.0),
                essential=True,
            ),
            _Check(
                "a U-shaped curve, patience 3: stops 3 epochs after the minimum",
                partial(_es_compare, fn, "a U-shaped curve", 3, 0.0),
            ),
            _Check(
                "patience counts the epochs since the best, not since the last decrease",
                partial(_es_compare, fn, "a noisy curve", 4, 0.0),
            ),
            _Check(
                "losses after the stop are never seen: best_epoch is the best before stopping",
                partial(_es_compare, fn, "a curve with a later, lower minimum", 2, 0.0),
            ),
            _Check(
                "a curve that keeps falling never stops: stop_epoch = -1",
                partial(_es_compare, fn, "a curve still falling", 2, 0.0),
            ),
            _Check(
                "min_delta: an epoch improves only if it beats the best by more than min_delta",
                partial(_es_min_delta, fn),
            ),
            _Check(
                "a tie with the best is not an improvement (strict <)",
                partial(_es_compare, fn, "a tie with the best", 3, 0.0),
            ),
            _Check("a nan loss never improves", partial(_es_nan, fn)),
            _Check(
                "patience 1 stops at the first epoch that does not improve", partial(_es_one, fn)
            ),
            _Check("accepts a NumPy array and leaves the losses unchanged", partial(_es_array, fn)),
        ],
    )


def _es_suspects(curve, patience, min_delta):
    """Typical wrong replays, each with the hint that explains it."""
    losses = np.asarray(curve, dtype=np.float64)
    ref_best, ref_stop = _es_reference(curve, patience, min_delta)
    suspects = []
    if ref_stop >= 0:
        suspects += [
            (
                (ref_best, ref_stop + 1),
                f"you stopped one epoch late: after the best epoch {ref_best}, stop once "
                f"{patience} epochs in a row have not improved, at epoch best + patience = "
                f"{ref_best + patience}",
            ),
            (
                (ref_best, ref_stop - 1),
                f"you stopped one epoch early: stop once {patience} epochs in a row have not "
                "improved; the counter reaches patience at the last of them",
            ),
            (
                (ref_best, -1),
                "you never stopped although patience ran out: return the epoch where it did",
            ),
        ]
    suspects += [
        (
            (int(np.nanargmin(losses)), ref_stop),
            "your best_epoch is the lowest loss of the whole list; training stopped at "
            "stop_epoch and never saw the later epochs: best_epoch is the best before stopping",
        ),
        (
            _es_variant(curve, patience, min_delta, previous=True),
            "you compared each loss with the previous epoch's; compare it with the best loss so "
            "far: a small dip after a rise is not an improvement unless it beats the best",
        ),
        (
            _es_variant(curve, patience, min_delta, ties=True),
            "a loss equal to the best (within min_delta) counted as an improvement: improve only "
            "if val_loss < best - min_delta (strict)",
        ),
        (
            _es_variant(curve, patience, 0.0),
            "you ignored min_delta: improve only if val_loss < best - min_delta",
        ),
        (
            _es_variant(curve, patience, -min_delta),
            "you used best + min_delta: an improvement must beat the best by MORE than "
            "min_delta, val_loss < best - min_delta",
        ),
    ]
    return [(pair, hint) for pair, hint in suspects if tuple(pair) != (ref_best, ref_stop)]


def _es_variant(curve, patience, min_delta, previous=False, ties=False):
    """A replay with one typical mistake: compare with the previous loss, or count ties."""
    best, best_epoch, previous_loss, waited = np.inf, -1, np.inf, 0
    for epoch, loss in enumerate(curve):
        reference = previous_loss if previous else best
        better = loss <= reference - min_delta if ties else loss < reference - min_delta
        previous_loss = loss
        if better:
            best, best_epoch, waited = min(loss, best) if previous else loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, -1


def _es_compare(fn, name, patience, min_delta, curve=None):
    curve = _ES_CURVES[name] if curve is None else curve
    got = _es_call(fn, curve, patience, min_delta)
    expected = _es_reference(curve, patience, min_delta)
    if got == expected:
        return f"(best_epoch, stop_epoch) = {expected}"
    for pair, hint in _es_suspects(curve, patience, min_delta):
        if got == tuple(pair):
            _fail(f"{_es_case(curve, patience, min_delta)}: {hint}")
    _fail(
        f"{_es_case(curve, patience, min_delta)}: your (best_epoch, stop_epoch) is {got}, "
        f"expected {expected}"
    )


def _es_case(curve, patience, min_delta):
    losses = ", ".join(f"{v:g}" for v in curve)
    return f"for val_losses = [{losses}], patience = {patience}, min_delta = {min_delta:g}"


def _es_min_delta(fn):
    _es_compare(fn, "tiny improvements", 3, 0.005)
    _es_compare(fn, "tiny improvements", 3, 0.0)


def _es_nan(fn):
    curve = [1.0, 0.6, float("nan"), float("nan"), 0.7, 0.65]
    got = _es_call(fn, curve, 2, 0.0)
    expected = _es_reference(curve, 2, 0.0)
    if got != expected:
        _fail(
            f"{_es_case(curve, 2, 0.0)}: your (best_epoch, stop_epoch) is {got}, expected "
            f"{expected}: a nan loss is not an improvement (val_loss < best is False for nan, "
            "so write the test that way round, not as `not val_loss >= best`)"
        )


def _es_one(fn):
    _es_compare(fn, "a U-shaped curve", 1, 0.0)


def _es_array(fn):
    curve = np.array(_ES_CURVES["a noisy curve"])
    before = curve.copy()
    try:
        result = fn(curve, 4, 0.0)
    except Exception as exc:
        raise _StudentRaised(
            _describe_exception(exc, "with a NumPy array of losses, your function", 3)
        ) from None
    best, stop = _unpack(result, ("best_epoch", "stop_epoch"))
    got = (_es_int(best, "your best_epoch"), _es_int(stop, "your stop_epoch"))
    with_list = _es_call(fn, list(curve), 4, 0.0)
    if got != with_list:
        _fail(
            f"with a NumPy array of losses your answer is {got}, with the same losses in a list "
            f"{with_list}: treat val_losses as a sequence of numbers (for loss in val_losses)"
        )
    _unchanged(before, curve, "val_losses", "sorted(val_losses) or a copy, not .sort()")


# ----------------------------------------------------------------------------------------------
# Label smoothing


def _ls_reference(labels, n_classes, eps):
    """The targets ``regcourse.numpy.CrossEntropyLoss(label_smoothing=eps)`` uses."""
    n = len(labels)
    q = np.full((n, n_classes), eps / n_classes)
    q[np.arange(n), labels] += 1.0 - eps
    return q


def label_smoothing_targets(fn) -> Report:
    """Check ``fn(labels, n_classes, eps) -> targets``: the smoothed target distribution for
    integer labels (N,), shape (N, n_classes), torch's convention (as
    ``torch.nn.CrossEntropyLoss(label_smoothing=eps)`` and ``regcourse.numpy.CrossEntropyLoss``):

        targets = (1 − eps) · one_hot(labels) + eps / n_classes.

    Checks: the shape; every row sums to 1; the values; eps = 0 gives one-hot rows; the
    labels left unchanged.
    """
    labels, k, eps = np.array([0, 2, 1, 3, 2, 0]), 4, 0.2
    return _run(
        "label_smoothing_targets",
        {"fn": fn},
        [
            _Check(
                "returns an array of shape (N, n_classes)",
                partial(_ls_call, fn, labels, k, eps),
                essential=True,
            ),
            _Check("every row sums to 1 (a distribution)", partial(_ls_sums, fn, labels, k, eps)),
            _Check(
                "targets = (1 − eps) · one_hot + eps / n_classes",
                partial(_ls_values, fn, labels, k, eps),
            ),
            _Check("eps = 0 gives one-hot rows", partial(_ls_zero, fn, labels, k)),
            _Check("works for other sizes (2 classes; 10 classes)", partial(_ls_shapes, fn)),
            _Check("leaves labels unchanged", partial(_ls_inplace, fn, labels, k, eps)),
        ],
    )


def _ls_call(fn, labels, k, eps):
    n = len(labels)
    hints = {(k, n): ": transposed? one row per example, one column per class"}
    return _array(_call(fn, labels, k, eps), "your targets", (n, k), hints)


def _ls_variants(labels, k, eps):
    onehot = np.eye(k)[labels]
    return [
        (
            (1 - eps) * onehot + eps / (k - 1) * (1 - onehot),
            "you spread eps over the other k − 1 classes: that is another convention; torch's "
            "(and this course's) adds eps / n_classes to EVERY class, the true one included",
        ),
        (
            (1 - eps) * onehot + eps / k * (1 - onehot),
            "the true class should get eps / n_classes too: (1 − eps) + eps / n_classes; the rows "
            "then sum to 1",
        ),
        (
            eps * onehot + (1 - eps) / k,
            "you swapped eps and 1 − eps: the true class keeps 1 − eps, and eps is spread "
            "evenly: (1 − eps) · one_hot + eps / n_classes",
        ),
        (onehot + eps / k, "you forgot to scale the one-hot by (1 − eps)"),
        (onehot, "your targets are one-hot: smooth them with eps"),
        ((1 - eps) * onehot + eps, "you added eps to every class; add eps / n_classes"),
    ]


def _ls_sums(fn, labels, k, eps):
    targets = _ls_call(fn, labels, k, eps)
    sums = targets.sum(axis=1)
    if np.allclose(sums, 1.0):
        return
    for candidate, hint in _ls_variants(labels, k, eps):
        if _close(targets, candidate, rtol=SUSPECT_RTOL):
            _fail(f"your rows sum to {_fmt(sums)}, not 1: {hint}")
    _fail(f"your rows sum to {_fmt(sums)}: each row is a distribution over the classes, sum 1")


def _ls_values(fn, labels, k, eps):
    targets = _ls_call(fn, labels, k, eps)
    _compare(targets, _ls_reference(labels, k, eps), "your targets", _ls_variants(labels, k, eps))


def _ls_zero(fn, labels, k):
    _compare(_ls_call(fn, labels, k, 0.0), np.eye(k)[labels], "with eps = 0 your targets")


def _ls_shapes(fn):
    for seed, (n, k) in enumerate(((5, 2), (7, 10))):
        labels = np.random.default_rng(seed).integers(0, k, n)
        targets = _ls_call(fn, labels, k, 0.1)
        _compare(targets, _ls_reference(labels, k, 0.1), f"with {k} classes, your targets")


def _ls_inplace(fn, labels, k, eps):
    student = labels.copy()
    _call(fn, student, k, eps, copy=False)
    _unchanged(labels, student, "labels", "np.eye(n_classes)[labels]")


# ----------------------------------------------------------------------------------------------
# Gaussian noise injection


def gaussian_noise_forward(fn) -> Report:
    """Check ``fn(x, sigma, rng) -> out``: additive Gaussian noise in training,
    out = x + sigma·ε with ε ~ N(0, 1) drawn independently for every entry from the
    ``numpy.random.Generator`` ``rng`` (``regcourse.numpy.GaussianNoise``).

    Checks: out's shape; the noise out − x has mean ≈ 0 and standard deviation ≈ sigma
    (within 5 standard errors), does not scale with x, and is drawn separately for every
    entry; sigma = 0 returns x; the same seed gives the same noise and another seed other
    noise; vectors and 3-D arrays; x left unchanged.
    """
    x, sigma = _data(30, (400, 50), 1.0, 3.0), 0.3
    return _run(
        "gaussian_noise_forward",
        {"fn": fn},
        [
            _Check(
                "returns out of x's shape", partial(_noise_call, fn, x, sigma, 0), essential=True
            ),
            _Check(
                "the noise out − x has mean ≈ 0 (statistical check)",
                partial(_noise_mean, fn, x, sigma),
            ),
            _Check(
                "the noise has standard deviation ≈ sigma (statistical check)",
                partial(_noise_std, fn, x, sigma),
            ),
            _Check(
                "the noise is added: it does not grow with x",
                partial(_noise_additive, fn, x, sigma),
            ),
            _Check(
                "draws separate noise for every entry", partial(_noise_independent, fn, x, sigma)
            ),
            _Check("sigma = 0 returns x", partial(_noise_zero, fn, x)),
            _Check(
                "uses rng: the same seed gives the same noise, another seed other noise",
                partial(_noise_seed, fn, x, sigma),
            ),
            _Check("works for any shape (a vector, a 3-D array)", partial(_noise_shapes, fn)),
            _Check("leaves x unchanged", partial(_noise_inplace, fn, x, sigma)),
        ],
    )


def _noise_call(fn, x, sigma, seed):
    return _array(_call(fn, x, sigma, np.random.default_rng(seed)), "your out", x.shape)


def _noise_mean(fn, x, sigma):
    noise = _noise_call(fn, x, sigma, 1) - x
    mean, margin = float(noise.mean()), SIGMAS * sigma / np.sqrt(noise.size)
    if abs(mean) <= margin:
        return f"mean {mean:.4f}, expected 0 ± {margin:.4f}"
    if abs(mean - sigma * 0.5) <= margin * 2:
        _fail(
            f"the noise has mean {mean:.3f} ≈ sigma/2: did you draw uniform numbers "
            "(rng.random)? Draw Gaussian ones, rng.standard_normal(x.shape)"
        )
    _fail(f"the noise out − x has mean {mean:.4f}, expected 0 ± {margin:.4f}: E[out] = x")


def _noise_std(fn, x, sigma):
    noise = _noise_call(fn, x, sigma, 2) - x
    std = float(noise.std())
    margin = SIGMAS * sigma / np.sqrt(2 * noise.size)  # standard error of a Gaussian's std
    if abs(std - sigma) <= margin:
        return f"std {std:.4f}, expected {sigma} ± {margin:.4f}"
    start = f"the noise has standard deviation {std:.4f}, expected sigma = {sigma} ± {margin:.4f}"
    if abs(std - sigma**2) <= margin:
        _fail(
            f"{start}: it is sigma² = {sigma**2:.3g}; sigma is the standard deviation, so "
            "multiply the standard normal draws by sigma, not sigma²"
        )
    if abs(std - np.sqrt(sigma)) <= 3 * margin:
        _fail(
            f"{start}: it is √sigma; sigma is the standard deviation, not the variance: "
            "x + sigma * rng.standard_normal(x.shape)"
        )
    if abs(std - sigma / np.sqrt(12)) <= margin:
        _fail(f"{start}: uniform numbers? Draw Gaussian ones, rng.standard_normal(x.shape)")
    if abs(std - 1.0) <= 3 * margin / sigma:
        _fail(f"{start}: did you forget to multiply the noise by sigma?")
    if abs(std - sigma * np.sqrt(np.mean(x**2))) <= 0.05 * std:
        _fail(f"{start}, about sigma · x: did you multiply x by the noise? Add it")
    _fail(start)


def _noise_additive(fn, x, sigma):
    noise = _noise_call(fn, x, sigma, 3) - x
    small, large = x < 2.0, x >= 2.0
    ratio = noise[large].std() / noise[small].std()
    scale = x[large].mean() / x[small].mean()
    if abs(ratio - 1) < 0.1:
        return
    if abs(ratio - scale) < 0.2 * scale:
        _fail(
            "the noise is larger where x is larger: you multiplied x by the noise, "
            "x * (1 + sigma·ε), which is multiplicative noise like dropout's; add it: "
            "x + sigma * rng.standard_normal(x.shape)"
        )
    _fail("the noise's spread depends on x: add noise of the same spread sigma everywhere")


def _noise_independent(fn, x, sigma):
    noise = _noise_call(fn, x, sigma, 4) - x
    if np.allclose(noise, noise[:1]):
        _fail(
            "the noise is the same for every sample (row): draw one number per entry, "
            "rng.standard_normal(x.shape)"
        )
    if np.allclose(noise, noise[:, :1]):
        _fail(
            "the noise is the same for every feature (column): draw one number per entry, "
            "rng.standard_normal(x.shape)"
        )
    if np.allclose(noise, noise.flat[0]):
        _fail("the same noise is added to every entry: draw one number per entry")


def _noise_zero(fn, x):
    _compare(_noise_call(fn, x, 0.0, 5), x, "with sigma = 0 your out")


def _noise_seed(fn, x, sigma):
    a, b = _noise_call(fn, x, sigma, 7), _noise_call(fn, x, sigma, 7)
    if not np.array_equal(a, b):
        _fail(
            "two calls with generators seeded alike, np.random.default_rng(7), gave different "
            "noise: draw from the rng argument, rng.standard_normal(x.shape), not from np.random"
        )
    if np.array_equal(a, _noise_call(fn, x, sigma, 8)):
        _fail(
            "generators with different seeds gave the same noise: use the rng you are given, "
            "not a generator of your own with a fixed seed"
        )


def _noise_shapes(fn):
    for shape in ((9,), (2, 3, 4)):
        x = _data(31, shape)
        out = _noise_call(fn, x, 0.5, 6)
        if np.array_equal(out, x):
            _fail(f"for x of shape {shape} your out equals x: no noise was added")
        _compare(_noise_call(fn, x, 0.0, 6), x, f"for x of shape {shape} and sigma = 0, your out")


def _noise_inplace(fn, x, sigma):
    student = x.copy()
    _call(fn, student, sigma, np.random.default_rng(0), copy=False)
    _unchanged(x, student, "x", "x + sigma * noise")


# ----------------------------------------------------------------------------------------------
# Shifting signals (data augmentation)


def _shift_reference(x, shifts):
    """out[i, t] = x[i, t − shifts[i]], 0 where t − shifts[i] falls outside the signal
    (``regcourse.augment.Shift(mode="zeros")`` with these shifts)."""
    length = x.shape[1]
    source = np.arange(length) - np.asarray(shifts)[:, None]
    inside = (source >= 0) & (source < length)
    return np.where(inside, np.take_along_axis(x, np.clip(source, 0, length - 1), axis=1), 0.0)


_SHIFT_X = np.arange(1.0, 9.0) * np.array([[1.0], [-1.0], [0.5], [2.0], [-0.5]])
_SHIFTS = np.array([2, -3, 0, 1, -1])


def shift_signals(fn) -> Report:
    """Check ``fn(x, shifts) -> out``: shift each signal x[i] (x of shape (N, L)) by its own
    integer shifts[i], filling with zeros: out[i, t] = x[i, t − shifts[i]] when
    0 ≤ t − shifts[i] < L, else 0 (``regcourse.augment.Shift`` in its default mode, with the
    shifts given). A positive shift moves the signal to the right.

    Checks: out's shape; the values; the direction (positive moves right); zero filling (not
    wrapping around); shift 0 and shifts as long as the signal; x left unchanged.
    """
    return _run(
        "shift_signals",
        {"fn": fn},
        [
            _Check(
                "returns out of x's shape (N, L)",
                partial(_shift_call, fn, _SHIFT_X, _SHIFTS),
                essential=True,
            ),
            _Check(
                "out[i, t] = x[i, t − shifts[i]], 0 outside (each signal its own shift)",
                partial(_shift_values, fn),
            ),
            _Check(
                "shifts of 0 return x; a shift of ±L gives zeros",
                partial(_shift_edges, fn),
            ),
            _Check("leaves x and shifts unchanged", partial(_shift_inplace, fn)),
        ],
    )


def _shift_call(fn, x, shifts):
    return _array(_call(fn, x, shifts), "your out", x.shape)


def _shift_values(fn):
    x, shifts = _SHIFT_X, _SHIFTS
    out = _shift_call(fn, x, shifts)
    rolled = np.stack([np.roll(row, k) for row, k in zip(x, shifts)])
    suspects = [
        (
            rolled,
            "what falls off one end came back at the other (np.roll wraps around): fill the "
            "positions with no source with 0",
        ),
        (
            _shift_reference(x, -shifts),
            "you shifted the wrong way: a positive shift moves the signal to the right, "
            "out[i, t] = x[i, t − k]",
        ),
        (
            np.stack([np.roll(row, -k) for row, k in zip(x, shifts)]),
            "you shifted the wrong way and wrapped around: out[i, t] = x[i, t − k], and 0 where "
            "t − k is outside the signal",
        ),
        (
            _shift_reference(x, np.full_like(shifts, shifts[0])),
            "every signal got the first signal's shift: shift x[i] by shifts[i]",
        ),
    ]
    _compare(out, _shift_reference(x, shifts), "your out", suspects)


def _shift_edges(fn):
    x = _SHIFT_X
    _compare(_shift_call(fn, x, np.zeros(5, dtype=int)), x, "with every shift 0, your out")
    length = x.shape[1]
    shifts = np.array([length, -length, length, -length, 0])
    _compare(
        _shift_call(fn, x, shifts),
        _shift_reference(x, shifts),
        f"with shifts of ±L = ±{length} (everything moves out), your out",
    )


def _shift_inplace(fn):
    x, shifts = _SHIFT_X.copy(), _SHIFTS.copy()
    _call(fn, x, shifts, copy=False)
    _unchanged(_SHIFT_X, x, "x", "a new array, np.zeros_like(x), filled from x")
    _unchanged(_SHIFTS, shifts, "shifts", "a new array")


# ----------------------------------------------------------------------------------------------
# Minimum-norm least squares


def min_norm_least_squares(fn) -> Report:
    """Check ``fn(X, y) -> w``: least squares without intercept, the minimum-norm solution
    when it is not unique: w = X⁺ y (``np.linalg.pinv(X) @ y``, ``np.linalg.lstsq``).

    Checks: w's shape (D,); with more samples than features (N > D) the ordinary least-squares
    solution; with fewer (N < D) a w that fits the data exactly and has the smallest norm of
    all that do (it lies in the row space of X); a rank-deficient X (two equal columns); X
    and y left unchanged.
    """
    return _run(
        "min_norm_least_squares",
        {"fn": fn},
        [
            _Check(
                "returns w of shape (D,)",
                partial(_mnls_call, fn, *_mnls_case(40, 20, 5)),
                essential=True,
            ),
            _Check(
                "N > D: the ordinary least-squares solution",
                partial(_mnls_over, fn),
            ),
            _Check(
                "N < D: w fits the data exactly (X @ w = y)",
                partial(_mnls_interpolates, fn),
            ),
            _Check(
                "N < D: w has the smallest norm of all exact fits (w = X⁺ y)",
                partial(_mnls_min_norm, fn),
            ),
            _Check(
                "a rank-deficient X (two equal columns) gives the minimum-norm solution",
                partial(_mnls_rank_deficient, fn),
            ),
            _Check("leaves X and y unchanged", partial(_mnls_inplace, fn)),
        ],
    )


def _mnls_case(seed, n, d):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def _mnls_call(fn, X, y):
    d = X.shape[1]
    hints = {
        (len(y),): f": one value per sample, but w has one per feature, shape ({d},)",
        (d, 1): ": a column; return a vector, shape (D,): ravel it",
        (1, d): ": a row; return a vector, shape (D,): ravel it",
        (d + 1,): ": did you add an intercept? w has one entry per column of X, no intercept",
    }
    return _array(
        _call(fn, X, y),
        "your w",
        (d,),
        hints,
        nan_hint=": did you invert a singular matrix? np.linalg.pinv(X) @ y works in every case",
    )


def _mnls_over(fn):
    X, y = _mnls_case(41, 30, 6)
    w = _mnls_call(fn, X, y)
    suspects = [(X.T @ y, "X.T @ y is the gradient direction, not the solution: w = X⁺ y")]
    _compare(w, np.linalg.lstsq(X, y, rcond=None)[0], "your w", suspects)


def _mnls_interpolates(fn):
    X, y = _mnls_case(42, 6, 20)
    w = _mnls_call(fn, X, y)
    residual = float(np.abs(X @ w - y).max())
    if residual > 1e-6:
        _fail(
            f"with N = 6 samples and D = 20 features an exact fit exists, but |X @ w − y| is up "
            f"to {residual:.3g}: with N < D, X.T @ X is singular; use np.linalg.pinv(X) @ y "
            "(or np.linalg.lstsq)"
        )


def _mnls_min_norm(fn):
    X, y = _mnls_case(42, 6, 20)
    w = _mnls_call(fn, X, y)
    best = np.linalg.pinv(X) @ y
    if _close(w, best):
        return f"‖w‖ = {np.linalg.norm(w):.4g}"
    ridge = np.linalg.solve(X.T @ X + 1e-3 * np.eye(20), X.T @ y)
    suspects = [
        (
            ridge,
            "you added a small ridge term: its solution is close to the minimum-norm one but "
            "not equal; use np.linalg.pinv(X) @ y, the limit as the ridge term goes to 0",
        ),
    ]
    if np.abs(X @ w - y).max() <= 1e-6:
        _fail(
            f"your w fits the data exactly but its norm is {np.linalg.norm(w):.4g}, not the "
            f"smallest, {np.linalg.norm(best):.4g}: among the many exact fits, take the one in "
            "the row space of X, w = X⁺ y = np.linalg.pinv(X) @ y"
        )
    _compare(w, best, "your w", suspects)


def _mnls_rank_deficient(fn):
    X, y = _mnls_case(43, 15, 4)
    X = np.column_stack([X, X[:, 0]])  # the last column repeats the first
    w = _mnls_call(fn, X, y)
    best = np.linalg.pinv(X) @ y
    if not _close(w, best, rtol=1e-5) and _close(X @ w, X @ best, rtol=1e-5):
        _fail(
            f"X's first and last columns are equal; your w fits as well as possible, but splits "
            f"the weight {w[0]:.4g} / {w[-1]:.4g} between them instead of equally "
            f"({best[0]:.4g} each), which has the smallest norm: use np.linalg.pinv(X) @ y"
        )
    _compare(w, best, "with two equal columns, your w")


def _mnls_inplace(fn):
    X, y = _mnls_case(44, 8, 12)
    Xs, ys = X.copy(), y.copy()
    _call(fn, Xs, ys, copy=False)
    _unchanged(X, Xs, "X", "a new array")
    _unchanged(y, ys, "y", "a new array")


# ----------------------------------------------------------------------------------------------
# Ensemble averaging


def _ens_case(seed, k, n, c):
    rng = np.random.default_rng(seed)
    logits = 2.0 * rng.standard_normal((k, n, c))
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


def ensemble_average(fn) -> Report:
    """Check ``fn(probs) -> p_bar``: the ensemble's prediction, the mean of its k members'
    class probabilities, for probs of shape (k, N, C): p̄ = (1/k) Σ_i p_i, shape (N, C)
    (``regcourse.ensemble.average_probabilities``).

    Checks: p̄'s shape; every row sums to 1; the values; one member returns its own
    probabilities; probs left unchanged.
    """
    probs = _ens_case(50, 5, 8, 3)
    return _run(
        "ensemble_average",
        {"fn": fn},
        [
            _Check("returns p_bar of shape (N, C)", partial(_ens_call, fn, probs), essential=True),
            _Check("every row of p_bar sums to 1", partial(_ens_sums, fn, probs)),
            _Check(
                "p_bar = (1/k) Σ_i p_i, the mean over the members", partial(_ens_values, fn, probs)
            ),
            _Check(
                "one member (k = 1) returns its probabilities; other sizes work",
                partial(_ens_shapes, fn),
            ),
            _Check("leaves probs unchanged", partial(_ens_inplace, fn, probs)),
        ],
    )


def _ens_call(fn, probs):
    k, n, c = probs.shape
    hints = {
        (k, c): ": you averaged over the examples (axis=1); average over the members, axis=0",
        (k, n): ": you averaged over the classes (axis=2); average over the members, axis=0",
        (n,): ": one value per example: return the averaged probabilities, not the predicted "
        "class (argmax) or a score",
        (c,): ": you averaged over members and examples together; average over axis=0 only",
    }
    return _array(_call(fn, probs), "your p_bar", (n, c), hints)


def _ens_variants(probs):
    k, _, c = probs.shape
    geo = np.exp(np.log(probs).mean(axis=0))
    votes = np.stack([np.eye(c)[p.argmax(axis=-1)] for p in probs]).mean(axis=0)
    logit_avg = np.log(probs).mean(axis=0)
    soft = np.exp(logit_avg - logit_avg.max(axis=-1, keepdims=True))
    return [
        (probs.sum(axis=0), f"you summed the members; divide by their number k = {k} (a mean)"),
        (
            geo,
            "you averaged the log-probabilities (a geometric mean); its rows do not sum to 1: "
            "average the probabilities themselves, probs.mean(axis=0)",
        ),
        (
            soft / soft.sum(axis=-1, keepdims=True),
            "you averaged the log-probabilities (logits) and took a softmax again: that is "
            "another ensemble; this one averages the probabilities, probs.mean(axis=0)",
        ),
        (
            votes,
            "you averaged the members' votes (one-hot argmax); average their probabilities, "
            "probs.mean(axis=0)",
        ),
        (probs[0], "you returned the first member's probabilities; average all k members"),
        (probs[-1], "you returned the last member's probabilities; average all k members"),
    ]


def _ens_sums(fn, probs):
    p_bar = _ens_call(fn, probs)
    sums = p_bar.sum(axis=1)
    if np.allclose(sums, 1.0):
        return
    for candidate, hint in _ens_variants(probs):
        if _close(p_bar, candidate, rtol=SUSPECT_RTOL):
            _fail(f"your rows sum to {_fmt(sums)}, not 1: {hint}")
    _fail(f"your rows sum to {_fmt(sums)}: the mean of distributions is a distribution, sum 1")


def _ens_values(fn, probs):
    _compare(_ens_call(fn, probs), probs.mean(axis=0), "your p_bar", _ens_variants(probs))


def _ens_shapes(fn):
    for seed, shape in enumerate(((1, 4, 3), (3, 1, 2), (7, 5, 10))):
        probs = _ens_case(seed, *shape)
        what = f"for probs of shape {shape}, your p_bar"
        _compare(_ens_call(fn, probs), probs.mean(axis=0), what, _ens_variants(probs))


def _ens_inplace(fn, probs):
    student = probs.copy()
    _call(fn, student, copy=False)
    _unchanged(probs, student, "probs", "probs.mean(axis=0)")


# ----------------------------------------------------------------------------------------------
# Polynomial features


def polynomial_features(fn) -> Report:
    """Check ``fn(x, degree) -> features``: the matrix [x, x², ..., x^degree] of shape
    (n, degree) for x of shape (n,), without a column of ones (the intercept is fitted
    separately), as ``regcourse.data.polynomial_features``.

    Checks: the shape; the columns x, x², ...; degree 1 is x as a column; degree 0 gives an
    (n, 0) matrix; x left unchanged.
    """
    x = np.array([-1.5, -0.5, 0.0, 0.5, 1.0, 2.0])
    return _run(
        "polynomial_features",
        {"fn": fn},
        [
            _Check(
                "returns an array of shape (n, degree)",
                partial(_poly_call, fn, x, 4),
                essential=True,
            ),
            _Check("column j − 1 is x^j, j = 1, ..., degree", partial(_poly_values, fn, x)),
            _Check("degree 1 gives x as a single column", partial(_poly_degree, fn, x, 1)),
            _Check(
                "degree 0 gives a matrix with no columns, shape (n, 0)",
                partial(_poly_degree, fn, x, 0),
            ),
            _Check("leaves x unchanged", partial(_poly_inplace, fn, x)),
        ],
    )


def _poly_call(fn, x, degree):
    n = len(x)
    hints = {
        (n, degree + 1): ": one column too many: did you include the column of ones, x⁰? "
        "The intercept is fitted separately; start at x¹",
        (degree, n): ": transposed? one row per sample, one column per power",
        (degree + 1, n): ": transposed, with a column of ones too? shape (n, degree), from x¹",
        (n, degree - 1): ": one column short: the powers run from 1 to degree, included",
    }
    return _array(_call(fn, x, degree), f"for degree {degree}, your features", (n, degree), hints)


def _poly_reference(x, degree):
    return x[:, None] ** np.arange(1, degree + 1)[None, :]


def _poly_values(fn, x):
    got = _poly_call(fn, x, 4)
    suspects = [
        (
            x[:, None] ** np.arange(0, 4)[None, :],
            "your columns are x⁰, ..., x³: start at x¹ (no column of ones) and end at x^degree",
        ),
        (
            x[:, None] * np.arange(1, 5)[None, :],
            "your columns are x, 2x, 3x, ...: powers, not multiples: x ** j",
        ),
        (
            _poly_reference(x, 4)[:, ::-1],
            "your columns are in reverse order: x first, x^degree last",
        ),
    ]
    _compare(got, _poly_reference(x, 4), "for degree 4, your features", suspects)


def _poly_degree(fn, x, degree):
    _compare(_poly_call(fn, x, degree), _poly_reference(x, degree), f"for degree {degree}, yours")


def _poly_inplace(fn, x):
    student = x.copy()
    _call(fn, student, 3, copy=False)
    _unchanged(x, student, "x", "x[:, None] ** powers")


# ----------------------------------------------------------------------------------------------
# Weighted multitask loss


def _mt_reference(losses, masks, weights):
    """Σ_t w_t · (mean of losses[t] over the examples labelled for task t); 0 for a task with
    none (``regcourse.numpy.MultiTaskLoss``'s rule)."""
    total = 0.0
    for loss, mask, weight in zip(losses, masks, weights):
        if mask.any():
            total += weight * loss[mask].mean()
    return total


def _mt_case():
    rng = np.random.default_rng(60)
    losses = rng.uniform(0.1, 3.0, (3, 10))
    masks = rng.random((3, 10)) < np.array([[1.0], [0.4], [0.7]])
    masks[0] = True  # task 0: every example labelled
    masks[1, :2] = [True, False]
    return losses, masks, np.array([1.0, 0.5, 2.0])


def multitask_loss(fn) -> Report:
    """Check ``fn(losses, masks, weights) -> total``: the weighted multitask loss of a batch,
    with losses (T, N) the per-example losses of each task, masks (T, N) boolean (True where
    the example is labelled for the task) and weights (T,):

        total = Σ_t weights[t] · mean of losses[t] over the examples labelled for task t,

    a task with no labelled example contributing 0 (``regcourse.numpy.MultiTaskLoss``).

    Checks: a single number; the value; a task with no labelled example adds 0, not NaN;
    weights of 0 switch a task off; the inputs left unchanged.
    """
    case = _mt_case()
    return _run(
        "multitask_loss",
        {"fn": fn},
        [
            _Check("returns a single number", partial(_mt_call, fn, *case), essential=True),
            _Check(
                "total = Σ_t w_t · (mean loss over the examples labelled for task t)",
                partial(_mt_value, fn, *case),
            ),
            _Check(
                "a task with no labelled example adds 0, not NaN",
                partial(_mt_empty, fn, *case),
            ),
            _Check("a weight of 0 switches its task off", partial(_mt_zero_weight, fn, *case)),
            _Check("leaves losses, masks and weights unchanged", partial(_mt_inplace, fn, *case)),
        ],
    )


def _mt_call(fn, losses, masks, weights, nan_hint=""):
    result = _call(fn, losses, masks, weights)
    if isinstance(result, np.ndarray) and result.shape == (len(weights),):
        _fail(
            "you returned one loss per task: weight them and add them up into one number, "
            "Σ_t weights[t] · L_t"
        )
    try:
        arr = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(f"your total should be a single number, got {_describe(result)}")
    if arr.size == 1 and not np.isfinite(arr).all():
        _fail(f"your total is {float(arr.ravel()[0])}{nan_hint}")
    return _scalar(result, "your total")


def _mt_variants(losses, masks, weights):
    means = np.array([loss[m].mean() if m.any() else 0.0 for loss, m in zip(losses, masks)])
    masked_over_n = (losses * masks).sum(axis=1) / losses.shape[1]
    sums = (losses * masks).sum(axis=1)
    return [
        (
            float(weights @ masked_over_n),
            "you divided each task's masked sum by N, the whole batch; average over the "
            "labelled examples only: divide by mask.sum() (the unlabelled ones are not zeros)",
        ),
        (
            float(weights @ losses.mean(axis=1)),
            "you averaged every example's loss, labelled or not: keep only the labelled ones, "
            "losses[t][masks[t]].mean()",
        ),
        (float(means.sum()), "you left out the weights: Σ_t weights[t] · L_t"),
        (
            float(weights @ means / len(weights)),
            "you divided by the number of tasks: the total is the weighted sum, not a mean",
        ),
        (
            float(weights @ means / weights.sum()),
            "you divided by the sum of the weights: the total is Σ_t weights[t] · L_t",
        ),
        (
            float(weights @ sums),
            "you summed each task's losses over its examples: take their mean, / mask.sum()",
        ),
        (
            float((weights[:, None] * losses * masks).sum() / masks.sum()),
            "you averaged over all labelled (task, example) pairs at once: average each task "
            "over its own labelled examples, then weight and add",
        ),
    ]


def _mt_value(fn, losses, masks, weights):
    total = _mt_call(fn, losses, masks, weights)
    _compare(
        total,
        _mt_reference(losses, masks, weights),
        "your total",
        _mt_variants(losses, masks, weights),
    )


def _mt_empty(fn, losses, masks, weights):
    masks = masks.copy()
    masks[1] = False
    hint = (
        ": task 1 has no labelled example here, and the mean of an empty array is NaN; "
        "skip such a task (it adds 0), e.g. `if mask.any():`"
    )
    with warnings.catch_warnings():  # numpy warns about the mean of an empty slice
        warnings.simplefilter("ignore", RuntimeWarning)
        total = _mt_call(fn, losses, masks, weights, nan_hint=hint)
    _compare(total, _mt_reference(losses, masks, weights), "with task 1 unlabelled, your total")


def _mt_zero_weight(fn, losses, masks, weights):
    weights = np.array([1.0, 0.0, 2.0])
    total = _mt_call(fn, losses, masks, weights)
    _compare(total, _mt_reference(losses, masks, weights), "with weights [1, 0, 2], your total")


def _mt_inplace(fn, losses, masks, weights):
    args = [losses.copy(), masks.copy(), weights.copy()]
    _call(fn, *args, copy=False)
    for name, before, after in zip(("losses", "masks", "weights"), (losses, masks, weights), args):
        _unchanged(before, after, name, "losses[t][masks[t]]")
