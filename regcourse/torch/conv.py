"""Convolution and pooling from tensor operations: twins of ``regcourse.numpy.conv``.

The same decomposition as the NumPy side: pad, take the windows (``Tensor.unfold``,
a strided view: "im2col"), contract them with the kernel,

    y[n, o, t] = b[o] + sum_{c, j} W[o, c, j] * x_p[n, c, s*t + j],

and let autograd do the backward pass. ``torch.nn.Conv1d``/``Conv2d``,
``MaxPool1d``/``MaxPool2d`` and ``AdaptiveAvgPool1d/2d(1)`` are the test
oracles, not the implementation. Every tensor is made from the input or the
parameters, so the layers run on any device (also ``meta``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

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


def pad(x, padding):
    """x (N, C, *spatial) with ``padding[i]`` zeros on both sides of spatial axis i."""
    if not any(padding):
        return x
    pairs = []
    for p in reversed(padding):  # F.pad lists the LAST axis first
        pairs += [p, p]
    return F.pad(x, pairs)


def windows(x, kernel, stride):
    """A view of x (N, C, *spatial) as (N, C, *out, *kernel); window t starts at s*t."""
    for axis, (k, s) in enumerate(zip(kernel, stride)):
        x = x.unfold(2 + axis, k, s)  # appends the window axis at the end
    return x


class _ConvNd(nn.Module):
    n_spatial = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        n = self.n_spatial
        self.in_channels = positive_int("in_channels", in_channels)
        self.out_channels = positive_int("out_channels", out_channels)
        self.kernel_size = size_tuple("kernel_size", kernel_size, n)
        self.stride = size_tuple("stride", stride, n)
        self.padding = padding_tuple(padding, n)
        factory = dict(device=device, dtype=dtype)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = nn.Parameter(torch.empty(shape, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(self.out_channels, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        """Draw W, then b, again, in place, uniform in ±1/sqrt(C_in * prod(kernel_size)).

        ``generator``: None (torch's global random state, see ``torch.manual_seed``)
        or a ``torch.Generator``.
        """
        bound = 1.0 / math.sqrt(self.in_channels * math.prod(self.kernel_size))
        self.weight.uniform_(-bound, bound, generator=generator)
        if self.bias is not None:
            self.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, x):
        n = self.n_spatial
        label = f"{type(self).__name__}({self.extra_repr()})"
        spatial = check_input(label, x.shape, n, self.in_channels)
        output_size(label, spatial, self.kernel_size, self.stride, self.padding)
        cols = windows(pad(x, self.padding), self.kernel_size, self.stride)  # (N, C_in, *out, *k)
        kernel_axes = list(range(2 + n, 2 + 2 * n))
        weight_axes = list(range(1, 2 + n))  # C_in and the kernel axes
        out = torch.tensordot(cols, self.weight, dims=([1] + kernel_axes, weight_axes))
        out = out.movedim(-1, 1)  # (N, *out, C_out) -> (N, C_out, *out)
        if self.bias is not None:
            out = out + self.bias.reshape((-1,) + (1,) * n)
        return out

    def extra_repr(self):
        """As torch.nn.Conv1d/Conv2d: padding only when not zero, bias only when absent."""
        return conv_extra_repr(self)


class Conv1d(_ConvNd):
    """(N, C_in, L) -> (N, C_out, L_out); ``weight`` (C_out, C_in, k); init as torch.nn.Conv1d."""

    n_spatial = 1


class Conv2d(_ConvNd):
    """(N, C_in, H, W) -> (N, C_out, H_out, W_out); ``weight`` (C_out, C_in, k, k)."""

    n_spatial = 2


class _MaxPoolNd(nn.Module):
    n_spatial = 0

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size, self.stride = pool_arguments(
            name, kernel_size, stride, padding, self.n_spatial
        )

    def forward(self, x):
        n = self.n_spatial
        label = f"{type(self).__name__}({self.extra_repr()})"
        spatial = check_input(label, x.shape, n)
        output_size(label, spatial, self.kernel_size, self.stride, (0,) * n)
        cols = windows(x, self.kernel_size, self.stride)  # (N, C, *out, *k)
        flat = cols.reshape(cols.shape[: 2 + n] + (-1,))  # each window in a row of k values
        index = flat.argmax(dim=-1, keepdim=True)  # the first largest value
        return flat.gather(-1, index).squeeze(-1)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class MaxPool1d(_MaxPoolNd):
    """(N, C, L) -> (N, C, L_out), the max of each window (stride: kernel_size by default)."""

    n_spatial = 1


class MaxPool2d(_MaxPoolNd):
    """(N, C, H, W) -> (N, C, H_out, W_out), the max of each window."""

    n_spatial = 2


class GlobalAvgPool(nn.Module):
    """(N, C, *spatial) -> (N, C): the mean of each channel over all positions."""

    def forward(self, x):
        return x.mean(dim=spatial_axes("GlobalAvgPool", x.shape))
