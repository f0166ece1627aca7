"""The building blocks, as ``torch.nn.Module``s written from tensor operations.

Same names and arguments as ``regcourse.numpy.core``; autograd computes the
backward pass. ``torch.nn.Linear`` and friends are the test oracles, not the
implementation.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from regcourse._checks import positive_int
from regcourse._shapes import flat_shape, unflatten_arguments, unflatten_shape


class Linear(nn.Module):
    """y = x W^T + b, ``weight`` (out, in), ``bias`` (out,); initialized as ``torch.nn.Linear``."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__()
        self.in_features = positive_int("in_features", in_features)
        self.out_features = positive_int("out_features", out_features)
        factory = dict(device=device, dtype=dtype)
        self.weight = nn.Parameter(torch.empty(self.out_features, self.in_features, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(self.out_features, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        """Draw W, then b, again, in place, uniform in [-1/sqrt(in), 1/sqrt(in)].

        ``generator``: None (torch's global random state, see ``torch.manual_seed``)
        or a ``torch.Generator``.
        """
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight.uniform_(-bound, bound, generator=generator)
        if self.bias is not None:
            self.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expects input of shape "
                f"(batch, {self.in_features}), got {tuple(x.shape)}"
            )
        out = x @ self.weight.T
        return out + self.bias if self.bias is not None else out

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(nn.Module):
    """relu(x) = max(x, 0); its gradient passes where x > 0 (0 at x = 0, as on the NumPy side).

    ``torch.relu`` is one kernel; a ``torch.where`` with a tensor of zeros, the
    literal translation of the NumPy side, made the course's MLPs about 20% slower.
    """

    def forward(self, x):
        return torch.relu(x)


class Tanh(nn.Module):
    """tanh(x)."""

    def forward(self, x):
        return torch.tanh(x)


class Flatten(nn.Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...); an empty batch gives (0, d1 * d2 * ...).

    The feature count is computed, not inferred (-1 cannot be inferred from 0 elements).
    """

    def forward(self, x):
        if x.ndim < 1:
            raise ValueError(f"Flatten expects an input (batch, ...), got a scalar {x!r}")
        return x.reshape(flat_shape(x.shape))


class Unflatten(nn.Module):
    """Splits dimension ``dim`` into ``unflattened_size`` (one may be -1), as torch.nn.Unflatten."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = unflatten_arguments(dim, unflattened_size)

    def forward(self, x):
        return x.reshape(unflatten_shape(x.shape, self.dim, self.unflattened_size))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Sequential(nn.Sequential):
    """``torch.nn.Sequential`` with a ``.layers`` list, as on the NumPy side.

    Unlike the NumPy ``Sequential``, one layer may appear twice (weight tying):
    autograd adds up the gradients of both uses, and ``parameters()`` lists a shared
    parameter once, so an optimizer steps it once.
    """

    @property
    def layers(self):
        return list(self)


def mlp(sizes, activation=ReLU, device=None, dtype=None) -> Sequential:
    """Linear layers of the given sizes with ``activation`` between (as ``regcourse.numpy.mlp``)."""
    if len(sizes) < 2:
        raise ValueError(f"mlp needs at least an input and an output size, got {list(sizes)}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, device=device, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(activation())
    return Sequential(*layers)
