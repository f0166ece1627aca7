"""Convolution and pooling layers, forward and backward by hand.

A convolution layer (a cross-correlation, as in every deep-learning library)
slides a kernel W of shape (C_out, C_in, k) with stride s over the input x,
padded with p zeros on each side (x_p):

    y[n, o, t] = b[o] + sum_{c, j} W[o, c, j] * x_p[n, c, s*t + j],
    t = 0, ..., L_out - 1,   L_out = floor((L + 2p - k) / s) + 1.

The windows x_p[n, c, s*t : s*t + k] are a strided view of x_p (``windows``),
copied once into the "im2col" matrix X (``window_matrix``): one row per
(input channel c, kernel offset j), one column per (sample n, position t),

    X[(c, j), (n, t)] = x_p[n, c, s*t + j],

so that, with W as a (C_out, C_in * k) matrix, the forward pass is ONE matrix
product, Y = W X + b. Backward, with G = dL/dy as a (C_out, N * L_out) matrix:

    dL/dW = G X^T            dL/dW[o, c, j] = sum_{n, t} G[n, o, t] * x_p[n, c, s*t + j]
    dL/db = G 1              dL/db[o]       = sum_{n, t} G[n, o, t]
    dL/dX = W^T G            dL/dX[(c, j), (n, t)] = sum_o W[o, c, j] * G[n, o, t],

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


def _inside(padding, padded_spatial):
    """The index of the unpadded part of an (N, C, *padded_spatial) array."""
    inner = tuple(slice(p, size - p) for p, size in zip(padding, padded_spatial))
    return (slice(None), slice(None)) + inner


def pad(x, padding):
    """x (N, C, *spatial) with ``padding[i]`` zeros on both sides of spatial axis i."""
    if not any(padding):
        return x
    padded_spatial = tuple(size + 2 * p for size, p in zip(x.shape[2:], padding))
    x_padded = np.zeros(x.shape[:2] + padded_spatial, dtype=DTYPE)
    x_padded[_inside(padding, padded_spatial)] = x  # (cheaper than np.pad for small arrays)
    return x_padded


def unpad(x, padding):
    """The inverse of ``pad``: cut ``padding[i]`` entries off both ends of spatial axis i."""
    return x[_inside(padding, x.shape[2:])]


def windows(x, kernel, stride):
    """A view of x (N, C, *spatial) as (N, C, *out, *kernel); window t starts at s*t."""
    axes = tuple(range(2, 2 + len(kernel)))
    every_window = sliding_window_view(x, kernel, axis=axes)
    return every_window[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]


def window_matrix(x, kernel, stride):
    """im2col: the windows of x (N, C, *spatial) as a (C * prod(kernel), N * prod(out)) matrix.

    X[(c, j), (n, t)] = x[n, c, s*t + j]: a row per (channel, kernel offset), a column per
    (sample, output position). The one copy of the windows a convolution makes.
    """
    cols = windows(x, kernel, stride)  # (N, C, *out, *kernel), a view
    n = len(kernel)
    kernel_axes = range(2 + n, 2 + 2 * n)
    cols = np.moveaxis(cols, [1, *kernel_axes], range(n + 1))  # (C, *kernel, N, *out)
    return cols.reshape(x.shape[1] * math.prod(kernel), -1)


def offset_positions(offset, stride, out):
    """The index of entry ``offset`` (j) of every window: positions s*t + j, t < out."""
    inner = tuple(slice(j, j + s * (m - 1) + 1, s) for j, s, m in zip(offset, stride, out))
    return (slice(None), slice(None)) + inner


def add_windows_back(dwindows, shape, stride):
    """col2im, the adjoint of ``windows``: sum each window's gradient into an array of ``shape``.

    ``dwindows`` is (N, C, *out, *kernel). One loop over the kernel offsets j
    (k of them in 1-D, kh*kw in 2-D): offset j of window t lands at s*t + j.
    """
    n = len(stride)
    out, kernel = dwindows.shape[2 : 2 + n], dwindows.shape[2 + n :]
    dx = np.zeros(shape, dtype=DTYPE)
    for offset in np.ndindex(*kernel):
        dx[offset_positions(offset, stride, out)] += dwindows[(...,) + offset]
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
        out_spatial = output_size(label, spatial, self.kernel_size, self.stride, self.padding)
        x_padded = pad(x, self.padding)
        cols = window_matrix(x_padded, self.kernel_size, self.stride)  # X: (C_in * k, N * L_out)
        out = self._weight_matrix() @ cols  # Y = W X: (C_out, N * L_out)
        if self.bias is not None:
            out += self.bias.data[:, None]
        out = np.moveaxis(out.reshape((self.out_channels, len(x)) + out_spatial), 0, 1)
        self._cache = (cols, x_padded.shape, out.shape)
        return out

    def backward(self, dout):
        _require_forward(self._cache, self)
        cols, padded_shape, out_shape = self._cache
        dout = _check_upstream(dout, out_shape, self)
        n = self.n_spatial
        grad = np.moveaxis(dout, 1, 0).reshape(self.out_channels, -1)  # G: (C_out, N * L_out)
        self.weight.grad += (grad @ cols.T).reshape(self.weight.shape)  # dL/dW = G X^T
        if self.bias is not None:
            self.bias.grad += grad.sum(axis=1)  # dL/db = G 1
        dcols = self._weight_matrix().T @ grad  # dL/dX = W^T G: (C_in * k, N * L_out)
        batch, out_spatial = out_shape[0], out_shape[2:]
        dcols = dcols.reshape((self.in_channels, *self.kernel_size, batch, *out_spatial))
        kernel_axes = range(2 + n, 2 + 2 * n)
        dwindows = np.moveaxis(dcols, range(n + 1), [1, *kernel_axes])  # (N, C_in, *out, *k)
        return unpad(add_windows_back(dwindows, padded_shape, self.stride), self.padding)

    def _weight_matrix(self):
        """W as a (C_out, C_in * prod(kernel_size)) matrix, a row per output channel (a view)."""
        return self.weight.data.reshape(self.out_channels, -1)

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
        index = flat.argmax(axis=-1)  # the first largest value, k = its offset in the window
        self._cache = (index, x.shape)
        return np.take_along_axis(flat, index[..., None], axis=-1)[..., 0]

    def backward(self, dout):
        _require_forward(self._cache, self)
        index, x_shape = self._cache
        dout = _check_upstream(dout, index.shape, self)
        dx = np.zeros(x_shape, dtype=DTYPE)
        out = index.shape[2:]
        # col2im (as add_windows_back) of G placed at each window's largest entry, 0 elsewhere
        for k, offset in enumerate(np.ndindex(*self.kernel_size)):
            won = index == k  # the windows whose largest entry sits at this offset
            dx[offset_positions(offset, self.stride, out)] += np.where(won, dout, 0.0)
        return dx

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
