"""Convolution and pooling layers, forward and backward by hand.

A convolution layer (a cross-correlation, as in every deep-learning library)
slides a kernel W of shape (C_out, C_in, k) with stride s over the input x,
padded with p zeros on each side (x_p):

    y[n, o, t] = b[o] + sum_{c, j} W[o, c, j] * x_p[n, c, s*t + j],
    t = 0, ..., L_out - 1,   L_out = floor((L + 2p - k) / s) + 1.

The windows x_p[n, c, s*t : s*t + k] are gathered once (``windows``: "im2col",
here a strided view, not a copy), so the forward pass is ONE contraction of the
windows with W. Backward, with G = dL/dy:

    dL/dW[o, c, j] = sum_{n, t} G[n, o, t] * x_p[n, c, s*t + j]   (G against the windows)
    dL/db[o]       = sum_{n, t} G[n, o, t]
    dL/dwindow[n, t, c, j] = sum_o G[n, o, t] * W[o, c, j],

and each window's gradient is added back where the window came from
(``add_windows_back``: "col2im", a loop over the k kernel offsets), then the
padding is cut off. In 2-D the same holds with (t, j) replaced by pairs.

Max pooling keeps the largest value of each window; its gradient goes to that
position only (the first one on ties, as torch). Global average pooling
averages over all positions; its gradient is G / (number of positions).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from regcourse._checks import positive_int
from regcourse._shapes import (
    check_input,
    conv_extra_repr,
    output_size,
    padding_tuple,
    pool_arguments,
    size_tuple,
    spatial_axes,
)
from regcourse.numpy.core import (
    DTYPE,
    Module,
    Parameter,
    _check_upstream,
    _require_forward,
    as_generator,
)


def pad(x, padding):
    """x (N, C, *spatial) with ``padding[i]`` zeros on both sides of spatial axis i."""
    if not any(padding):
        return x
    return np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])


def unpad(x, padding):
    """The inverse of ``pad``: cut ``padding[i]`` entries off both ends of spatial axis i."""
    inner = tuple(slice(p, size - p) for p, size in zip(padding, x.shape[2:]))
    return x[(slice(None), slice(None)) + inner]


def windows(x, kernel, stride):
    """A view of x (N, C, *spatial) as (N, C, *out, *kernel); window t starts at s*t."""
    axes = tuple(range(2, 2 + len(kernel)))
    every_window = sliding_window_view(x, kernel, axis=axes)
    return every_window[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]


def add_windows_back(dwindows, shape, stride):
    """col2im, the adjoint of ``windows``: sum each window's gradient into an array of ``shape``.

    ``dwindows`` is (N, C, *out, *kernel). One loop over the kernel offsets j
    (k of them in 1-D, kh*kw in 2-D): offset j of window t lands at s*t + j.
    """
    n = len(stride)
    out, kernel = dwindows.shape[2 : 2 + n], dwindows.shape[2 + n :]
    dx = np.zeros(shape, dtype=DTYPE)
    for offset in np.ndindex(*kernel):
        target = tuple(slice(j, j + s * (m - 1) + 1, s) for j, s, m in zip(offset, stride, out))
        dx[(slice(None), slice(None)) + target] += dwindows[(...,) + offset]
    return dx


class _ConvNd(Module):
    """Shared code of Conv1d and Conv2d; subclasses set the number of spatial dimensions."""

    n_spatial = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        bias: bool = True,
    ):
        n = self.n_spatial
        self.in_channels = positive_int("in_channels", in_channels)
        self.out_channels = positive_int("out_channels", out_channels)
        self.kernel_size = size_tuple("kernel_size", kernel_size, n)
        self.stride = size_tuple("stride", stride, n)
        self.padding = padding_tuple(padding, n)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(np.empty(shape))
        self.bias = Parameter(np.empty(self.out_channels)) if bias else None
        self.reset_parameters()
        self._cache = None

    def reset_parameters(self, generator=None):
        """Draw W, then b, again, in place, uniform in ±1/sqrt(C_in * prod(kernel_size)).

        ``generator``: None (the shared generator), an int seed or a ``np.random.Generator``.
        """
        rng = as_generator(generator)
        bound = 1.0 / math.sqrt(self.in_channels * math.prod(self.kernel_size))
        self.weight.data[...] = rng.uniform(-bound, bound, size=self.weight.shape)
        if self.bias is not None:
            self.bias.data[...] = rng.uniform(-bound, bound, size=self.bias.shape)

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        n = self.n_spatial
        label = f"{type(self).__name__}({self.extra_repr()})"
        spatial = check_input(label, x.shape, n, self.in_channels)
        output_size(label, spatial, self.kernel_size, self.stride, self.padding)
        x_padded = pad(x, self.padding)
        cols = windows(x_padded, self.kernel_size, self.stride)  # (N, C_in, *out, *k)
        kernel_axes = tuple(range(2 + n, 2 + 2 * n))
        weight_axes = tuple(range(1, 2 + n))  # C_in and the kernel axes
        out = np.tensordot(cols, self.weight.data, axes=((1,) + kernel_axes, weight_axes))
        out = np.moveaxis(out, -1, 1)  # (N, *out, C_out) -> (N, C_out, *out)
        if self.bias is not None:
            out = out + self.bias.data.reshape((-1,) + (1,) * n)
        self._cache = (cols, x_padded.shape, out.shape)
        return out

    def backward(self, dout):
        _require_forward(self._cache, self)
        cols, padded_shape, out_shape = self._cache
        dout = _check_upstream(dout, out_shape, self)
        n = self.n_spatial
        batch_and_positions = (0,) + tuple(range(2, 2 + n))  # the same axes in dout and cols
        self.weight.grad += np.tensordot(dout, cols, axes=(batch_and_positions,) * 2)
        if self.bias is not None:
            self.bias.grad += dout.sum(axis=batch_and_positions)
        dcols = np.tensordot(dout, self.weight.data, axes=(1, 0))  # (N, *out, C_in, *k)
        dcols = np.moveaxis(dcols, 1 + n, 1)  # (N, C_in, *out, *k)
        return unpad(add_windows_back(dcols, padded_shape, self.stride), self.padding)

    def extra_repr(self):
        """As torch.nn.Conv1d/Conv2d: padding only when not zero, bias only when absent."""
        return conv_extra_repr(self)


class Conv1d(_ConvNd):
    """1-D convolution: (N, C_in, L) -> (N, C_out, L_out); ``weight`` (C_out, C_in, k).

    Initialized as ``torch.nn.Conv1d``: weight and bias uniform in ±1/sqrt(C_in * k).
    """

    n_spatial = 1


class Conv2d(_ConvNd):
    """2-D convolution: (N, C_in, H, W) -> (N, C_out, H_out, W_out); weight (C_out, C_in, k, k).

    ``kernel_size``, ``stride`` and ``padding`` are ints or (height, width) pairs.
    Initialized as ``torch.nn.Conv2d``: uniform in ±1/sqrt(C_in * kh * kw).
    """

    n_spatial = 2


class _MaxPoolNd(Module):
    """Shared code of MaxPool1d and MaxPool2d: the largest value of each window, per channel."""

    n_spatial = 0

    def __init__(self, kernel_size, stride=None, padding=0):
        name = type(self).__name__
        self.kernel_size, self.stride = pool_arguments(
            name, kernel_size, stride, padding, self.n_spatial
        )
        self._cache = None

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        n = self.n_spatial
        label = f"{type(self).__name__}({self.extra_repr()})"
        spatial = check_input(label, x.shape, n)
        output_size(label, spatial, self.kernel_size, self.stride, (0,) * n)
        cols = windows(x, self.kernel_size, self.stride)  # (N, C, *out, *k)
        flat = cols.reshape(cols.shape[: 2 + n] + (-1,))  # each window in a row of k values
        index = flat.argmax(axis=-1)[..., None]  # the first largest value
        self._cache = (index, cols.shape, x.shape)
        return np.take_along_axis(flat, index, axis=-1)[..., 0]

    def backward(self, dout):
        _require_forward(self._cache, self)
        index, cols_shape, x_shape = self._cache
        dout = _check_upstream(dout, index.shape[:-1], self)
        dflat = np.zeros(index.shape[:-1] + (math.prod(self.kernel_size),), dtype=DTYPE)
        np.put_along_axis(dflat, index, dout[..., None], axis=-1)
        return add_windows_back(dflat.reshape(cols_shape), x_shape, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class MaxPool1d(_MaxPoolNd):
    """(N, C, L) -> (N, C, L_out), the max of each window of ``kernel_size`` (stride: the same)."""

    n_spatial = 1


class MaxPool2d(_MaxPoolNd):
    """(N, C, H, W) -> (N, C, H_out, W_out), the max of each kernel_size x kernel_size window."""

    n_spatial = 2


class GlobalAvgPool(Module):
    """(N, C, *spatial) -> (N, C): the mean of each channel over all positions.

    Backward spreads G evenly: dL/dx[n, c, ...] = G[n, c] / (number of positions).
    """

    def __init__(self):
        self._shape = None

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        axes = spatial_axes("GlobalAvgPool", x.shape)
        self._shape = x.shape
        return x.mean(axis=axes)

    def backward(self, dout):
        _require_forward(self._shape, self)
        shape = self._shape
        dout = _check_upstream(dout, shape[:2], self)
        count = math.prod(shape[2:])
        spread = dout.reshape(shape[:2] + (1,) * (len(shape) - 2)) / count
        return np.broadcast_to(spread, shape).copy()
