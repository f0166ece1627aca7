"""Shape arithmetic and argument checks for convolution, pooling, Flatten/Unflatten and norms.

Shared by the NumPy and PyTorch sides (neither imports the other). Sizes are
tuples with one entry per spatial dimension: ``(L,)`` for 1-D signals, ``(H, W)``
for images. A sliding window of size k, moved by a stride s over an input of
size L padded by p zeros on each side, fits

    L_out = floor((L + 2p - k) / s) + 1

times, provided k <= L + 2p. Every check raises a ``ValueError`` that names
what was wrong and what is allowed.
"""

from __future__ import annotations

import math
import numbers

from regcourse._checks import positive_int

SPATIAL_NAMES = {1: "length", 2: "height, width"}


def size_tuple(name: str, value, n: int) -> tuple[int, ...]:
    """An int (used for every spatial dimension) or a tuple of ``n`` ints, each >= 1."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        return tuple(positive_int(f"{name} entries", v) for v in value)
    return (positive_int(name, value),) * n


def non_negative_int(name: str, value) -> int:
    """Return ``value`` if it is an integer >= 0, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def padding_tuple(value, n: int) -> tuple[int, ...]:
    """Zero padding: an int or a tuple of ``n`` ints, each >= 0."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"padding must be an int or a tuple of {n} ints, got {value!r}")
        return tuple(non_negative_int("padding entries", v) for v in value)
    return (non_negative_int("padding", value),) * n


def pool_arguments(layer: str, kernel_size, stride, padding, n: int):
    """(kernel, stride) tuples of a max pool; stride defaults to the kernel size, as in torch.

    Only ``padding=0`` is supported: the windows never reach past the input.
    """
    kernel = size_tuple("kernel_size", kernel_size, n)
    stride = kernel if stride is None else size_tuple("stride", stride, n)
    if padding_tuple(padding, n) != (0,) * n:
        raise ValueError(f"{layer} supports only padding=0 (no padding), got padding={padding!r}")
    return kernel, stride


def check_input(layer: str, shape, n: int, channels: int | None = None) -> tuple[int, ...]:
    """Check an input of shape (batch, channels, *spatial) with ``n`` spatial dims; returns spatial.

    ``channels=None`` accepts any number of channels (pooling layers).
    """
    shape = tuple(shape)
    if len(shape) != n + 2:
        raise ValueError(
            f"{layer} expects a {n + 2}-D input (batch, channels, {SPATIAL_NAMES[n]}), "
            f"got shape {shape}"
        )
    if channels is not None and shape[1] != channels:
        raise ValueError(
            f"{layer} expects {channels} input channels, got {shape[1]} (input shape {shape})"
        )
    return shape[2:]


def output_size(layer: str, spatial, kernel, stride, padding) -> tuple[int, ...]:
    """floor((L + 2p - k) / s) + 1 per spatial dimension; the kernel must fit the padded input."""
    padded = tuple(size + 2 * p for size, p in zip(spatial, padding))
    if any(k > size for k, size in zip(kernel, padded)):
        raise ValueError(
            f"{layer}: kernel_size {tuple(kernel)} is larger than the padded input "
            f"{padded} (input {tuple(spatial)} plus padding {tuple(padding)} on each side); "
            "the kernel must fit: kernel_size <= input size + 2 * padding"
        )
    return tuple((size - k) // s + 1 for size, k, s in zip(padded, kernel, stride))


def unflatten_arguments(dim, unflattened_size) -> tuple[int, tuple[int, ...]]:
    """Check Unflatten's arguments: an int ``dim``, sizes >= 1 with at most one -1 (inferred)."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise ValueError(f"dim must be an integer, got {dim!r}")
    if isinstance(unflattened_size, numbers.Integral) or not unflattened_size:
        raise ValueError(
            f"unflattened_size must be a non-empty tuple of ints, got {unflattened_size!r}"
        )
    sizes = tuple(unflattened_size)
    for size in sizes:
        is_int = isinstance(size, numbers.Integral) and not isinstance(size, bool)
        if not is_int or not (size >= 1 or size == -1):
            raise ValueError(
                f"unflattened_size entries must be positive integers (or one -1), got {sizes!r}"
            )
    if sizes.count(-1) > 1:
        raise ValueError(f"unflattened_size may contain at most one -1, got {sizes!r}")
    return int(dim), tuple(int(s) for s in sizes)


def unflatten_shape(shape, dim: int, sizes) -> tuple[int, ...]:
    """``shape`` with dimension ``dim`` split into ``sizes`` (one -1 is inferred)."""
    shape = tuple(shape)
    if not -len(shape) <= dim < len(shape):
        raise ValueError(
            f"Unflatten(dim={dim}) got an input of shape {shape}: dim must lie in "
            f"[{-len(shape)}, {len(shape) - 1}]"
        )
    dim = dim % len(shape)
    known = math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if shape[dim] % known:
            raise ValueError(
                f"Unflatten cannot split dimension {dim} of size {shape[dim]} into {sizes}: "
                f"{shape[dim]} is not a multiple of {known}"
            )
        sizes = tuple(shape[dim] // known if s == -1 else s for s in sizes)
    elif known != shape[dim]:
        raise ValueError(
            f"Unflatten cannot split dimension {dim} of size {shape[dim]} into {sizes}: "
            f"the sizes must multiply to {shape[dim]}, they multiply to {known}"
        )
    return shape[:dim] + tuple(sizes) + shape[dim + 1 :]


def spatial_axes(layer: str, shape) -> tuple[int, ...]:
    """The spatial axes (2, 3, ...) of an input (batch, channels, *spatial); at least one."""
    shape = tuple(shape)
    if len(shape) < 3:
        raise ValueError(
            f"{layer} expects an input (batch, channels, *spatial) with at least 3 dimensions, "
            f"got shape {shape}"
        )
    return tuple(range(2, len(shape)))


def conv_extra_repr(conv) -> str:
    """What ``repr`` shows of a Conv1d/Conv2d (either side), in torch.nn.Conv1d/Conv2d's format.

    ``in, out, kernel_size=..., stride=...``, then ``padding=...`` when it is not
    zero and ``bias=False`` when there is no bias, as torch prints them.
    """
    text = (
        f"{conv.in_channels}, {conv.out_channels}, kernel_size={conv.kernel_size}, "
        f"stride={conv.stride}"
    )
    if any(conv.padding):
        text += f", padding={conv.padding}"
    if conv.bias is None:
        text += ", bias=False"
    return text


def flat_shape(shape) -> tuple[int, int]:
    """(N, d1 * d2 * ...) for an input of shape (N, d1, d2, ...); (N, 1) for a 1-D one.

    The feature count is computed, not inferred (-1), so an empty batch (0, ...)
    gives (0, d1 * d2 * ...), as ``torch.nn.Flatten``.
    """
    shape = tuple(shape)
    if len(shape) < 1:
        raise ValueError("Flatten expects an input (batch, ...), got a scalar")
    return (shape[0], math.prod(shape[1:]))


def normalized_shape_tuple(normalized_shape) -> tuple[int, ...]:
    """LayerNorm's ``normalized_shape``: an int or a non-empty tuple of ints >= 1."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    shape = tuple(positive_int("normalized_shape entries", n) for n in normalized_shape)
    if not shape:
        raise ValueError("normalized_shape must name at least one dimension")
    return shape


def check_batch_norm_input(layer: str, shape, expected_ndim, num_features: int) -> None:
    """A batch norm input has ``expected_ndim`` dimensions and ``num_features`` in dimension 1."""
    shape = tuple(shape)
    if len(shape) not in expected_ndim:
        raise ValueError(
            f"{layer} expects input with {' or '.join(map(str, expected_ndim))} dimensions, "
            f"got shape {shape}"
        )
    if shape[1] != num_features:
        raise ValueError(f"{layer}({num_features}) got {shape[1]} features (input shape {shape})")
