"""Numerical gradient checks by central differences.

For a scalar function f and a small step h, each partial derivative is
estimated as

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2h),

whose error is O(h^2). The analytic and numerical gradients are compared by
the relative error  max |a - n| / max(|a| + |n|, tiny);  in float64 a correct
backward gives about 1e-7 or less.
"""

from __future__ import annotations

import numpy as np

from regcourse.numpy.core import DTYPE, Module


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f()`` with respect to ``x``.

    ``x`` is changed in place one entry at a time (and restored), so ``f`` can
    read it directly: pass a parameter's ``.data`` or the input array.
    """
    grad = np.zeros_like(x, dtype=DTYPE)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + h
        f_plus = f()
        x[i] = original - h
        f_minus = f()
        x[i] = original
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """max |a - b| / max(|a| + |b|), guarded against division by zero."""
    a, b = np.asarray(a, dtype=DTYPE), np.asarray(b, dtype=DTYPE)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    scale = np.maximum(np.abs(a) + np.abs(b), 1e-12)
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0


def check_module_gradients(module: Module, x, seed: int = 0, h: float = 1e-6) -> dict[str, float]:
    """Relative errors of ``module.backward`` for the input and every parameter.

    Uses the scalar L = sum(module(x) * G) with a fixed random G, so dL/dout = G.
    The module should be deterministic (put dropout in eval mode or freeze its mask).
    Returns ``{"input": err, "weight": err, ...}``.
    """
    x = np.array(x, dtype=DTYPE)
    upstream = np.random.default_rng(seed).standard_normal(module(x).shape)

    def scalar_output():
        return float(np.sum(module(x) * upstream))

    module.zero_grad()
    module(x)
    dx = module.backward(upstream)
    analytic = {"input": dx, **{name: p.grad.copy() for name, p in module.named_parameters()}}
    numeric = {"input": numerical_gradient(scalar_output, x, h)}
    for name, p in module.named_parameters():
        numeric[name] = numerical_gradient(scalar_output, p.data, h)
    return {name: relative_error(analytic[name], numeric[name]) for name in analytic}


def check_loss_gradient(loss_fn, pred, target, h: float = 1e-6) -> float:
    """Relative error of ``loss_fn.backward()`` against central differences in ``pred``."""
    pred = np.array(pred, dtype=DTYPE)
    loss_fn(pred, target)
    analytic = loss_fn.backward()
    numeric = numerical_gradient(lambda: loss_fn(pred, target), pred, h)
    return relative_error(analytic, numeric)
