r"""Data augmentation: seeded, composable transforms for NumPy arrays and torch tensors.

Every transform is called the same way, on a whole batch::

    X_augmented = transform(X, rng)

``X`` is a NumPy array or a torch tensor of floating-point numbers, ``rng`` a
``np.random.Generator`` (``np.random.default_rng(seed)``). The result has the
type, shape, dtype and device of ``X``; ``X`` itself is never changed. This is
the signature the ``transform=`` option of both ``fit`` functions expects::

    augment = Compose(Shift(3), Scale(0.8, 1.2), AddNoise(0.05))
    X_batch = augment(X_batch, rng)          # a fresh draw for every mini-batch

One implementation, two backends
--------------------------------
Each transform is written once. It draws all of its random numbers (shifts,
factors, angles, noise, masks) with the NumPy ``rng``, then applies them with
a handful of helpers below (``_as_like``, ``_gather``, ``_where``) that use NumPy
for arrays and torch for tensors. Hence the same ``rng`` state gives the *same*
augmentation for an array and for the equal tensor, on any device (``meta``
included), and the NumPy code is the reference for the torch one. torch is
imported only inside those helpers, and only when a tensor comes in.

Two kinds of data
-----------------
- **1-D signals**, shape (N, L): MNIST-1D sequences (L = 40), or short audio
  snippets: :class:`Shift`, :class:`Scale`, :class:`AddNoise`, :class:`Stretch`
  and :class:`TimeReverse`.
- **Small images**, either flattened rows (N, H*H), as
  :func:`regcourse.data.load_digits_splits` returns the 8x8 digits, or (N, H, W):
  :class:`ImageShift`, :class:`Rotate`, :class:`ImageNoise`, :class:`Cutout`,
  :class:`Rotate180` and :class:`FlipHorizontal`. The result keeps the caller's
  layout.

Label-preserving, or not?
-------------------------
Augmentation adds training examples that we *claim* have the same label. That
is true for a small shift of a digit, and false for some transforms that look
just as harmless: a 6 turned by 180 degrees is a 9 (:class:`Rotate180`), a
mirrored 2 is no digit at all (:class:`FlipHorizontal`), and reversing time
turns six of the ten MNIST-1D digits into other shapes (:class:`TimeReverse`).
Those three are here on purpose, to show what a label-breaking transform does.

Standardized data
-----------------
The chapters usually standardize pixels (mean 0, std 1 per pixel, fitted on the
training set). Filling with 0 is then "filling with that pixel's training mean",
the most neutral value there is, and all fills below are 0. Note also that a
geometric transform moves a value standardized with one pixel's statistics to
another pixel; for exact geometry, augment the raw images and standardize after.
"""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np

from regcourse._checks import in_unit_interval, positive_int

__all__ = [
    "Transform",
    "SignalTransform",
    "ImageTransform",
    "Shift",
    "Scale",
    "AddNoise",
    "Stretch",
    "TimeReverse",
    "ImageShift",
    "Rotate",
    "ImageNoise",
    "Cutout",
    "Rotate180",
    "FlipHorizontal",
    "Compose",
    "RandomApply",
]

SHIFT_MODES = ("zeros", "edge", "wrap")


# ---------------------------------------------------------------------------
# The backend layer: the only code that knows about NumPy versus torch
# ---------------------------------------------------------------------------


def _is_tensor(x) -> bool:
    """True for a torch tensor. A tensor can only exist if torch was imported, so we look there."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _as_like(array: np.ndarray, x):
    """The NumPy ``array`` as the same kind of data as ``x``.

    Floating-point arrays take ``x``'s dtype; integer and boolean arrays (indices
    and masks) keep theirs. For a tensor ``x`` the result lives on ``x.device``.
    """
    if _is_tensor(x):
        import torch

        dtype = x.dtype if np.issubdtype(array.dtype, np.floating) else None
        return torch.as_tensor(array, dtype=dtype, device=x.device)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(x.dtype, copy=False)
    return array


def _gather(x, index):
    """``out[i, j] = x[i, index[i, j]]``: pick entries along the last axis, row by row."""
    if _is_tensor(x):
        import torch

        return torch.gather(x, -1, index)
    return np.take_along_axis(x, index, axis=-1)


def _where(mask, a, b):
    """``a`` where ``mask`` is true, else ``b`` (an array, a tensor or a number)."""
    if _is_tensor(a):
        import torch

        return torch.where(mask, a, b)
    return np.where(mask, a, b)


def _take(x, index: np.ndarray, inside: np.ndarray | None = None):
    r"""Entries of the rows of ``x`` at integer positions: :math:`x_{i, \mathrm{index}_{ij}}`.

    ``x`` is (N, D), ``index`` an (N, D) integer NumPy array. Where the boolean
    array ``inside`` is False the position lies outside the data: the result is 0.
    """
    if inside is None:
        return _gather(x, _as_like(index, x))
    values = _gather(x, _as_like(np.where(inside, index, 0), x))
    return _where(_as_like(inside, x), values, 0.0)


# ---------------------------------------------------------------------------
# Argument and input checks
# ---------------------------------------------------------------------------


def _non_negative_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def _number(name: str, value, allowed: str, ok) -> float:
    """A finite real number for which ``ok(value)`` holds; ``allowed`` says which, in words."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not ok(value)
    ):
        raise ValueError(f"{name} must be a finite number {allowed}, got {value!r}")
    return float(value)


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator, e.g. np.random.default_rng(0), "
            f"got {type(rng).__name__}"
        )


def _check_batch(X) -> None:
    """A non-empty NumPy array or torch tensor of floating-point numbers."""
    if _is_tensor(X):
        floating, dtype = X.is_floating_point(), X.dtype
    elif isinstance(X, np.ndarray):
        floating, dtype = np.issubdtype(X.dtype, np.floating), X.dtype
    else:
        raise ValueError(f"X must be a NumPy array or a torch tensor, got {type(X).__name__}")
    if not floating:
        raise ValueError(f"X must hold floating-point numbers (e.g. float32, float64), got {dtype}")
    if X.ndim == 0 or X.shape[0] == 0:
        raise ValueError(
            f"X must be a non-empty batch (one row per sample), got shape {tuple(X.shape)}"
        )


def _check_signals(X, who: str, min_length: int = 1) -> None:
    """A batch of 1-D signals of shape (N, L) with L >= min_length."""
    if X.ndim != 2 or X.shape[1] < min_length:
        raise ValueError(
            f"{who} expects a batch of 1-D signals of shape (N, L) with L >= {min_length}, "
            f"got shape {tuple(X.shape)}"
        )


def _image_size(X, who: str) -> tuple[int, int]:
    """(H, W) of a batch of images given as (N, H, W) or as flattened square rows (N, H*H)."""
    if X.ndim == 3 and min(X.shape[1:]) >= 1:
        return int(X.shape[1]), int(X.shape[2])
    if X.ndim == 2 and X.shape[1] >= 1:
        side = math.isqrt(X.shape[1])
        if side * side == X.shape[1]:
            return side, side
        raise ValueError(
            f"{who}: a flattened image row must have a square length (64 for 8x8 images), "
            f"got rows of length {X.shape[1]}; pass (N, H, W) for non-square images"
        )
    raise ValueError(
        f"{who} expects images of shape (N, H, W) or flattened square rows (N, H*H), "
        f"got shape {tuple(X.shape)}"
    )


# ---------------------------------------------------------------------------
# The base classes
# ---------------------------------------------------------------------------


class Transform:
    """A random, label-preserving (unless said otherwise) map of a batch: ``transform(X, rng)``.

    Subclasses implement ``check_input(X)`` and ``apply(X, rng)``; ``__call__``
    checks ``rng`` and ``X`` first. ``_fields`` names the constructor arguments,
    for ``__repr__``.
    """

    _fields: tuple[str, ...] = ()

    def __call__(self, X, rng):
        _check_rng(rng)
        _check_batch(X)
        self.check_input(X)
        return self.apply(X, rng)

    def check_input(self, X) -> None:
        """Raise ValueError if X has the wrong shape for this transform."""

    def apply(self, X, rng):
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({args})"


class SignalTransform(Transform):
    """A transform of 1-D signals, shape (N, L)."""

    min_length = 1

    def check_input(self, X) -> None:
        _check_signals(X, type(self).__name__, self.min_length)


class ImageTransform(Transform):
    """A transform of images. ``apply_images`` sees (N, H, W); the caller's layout is restored."""

    def check_input(self, X) -> None:
        _image_size(X, type(self).__name__)

    def apply(self, X, rng):
        height, width = _image_size(X, type(self).__name__)
        images = X.reshape(len(X), height, width)
        return self.apply_images(images, rng).reshape(tuple(X.shape))

    def apply_images(self, images, rng):
        raise NotImplementedError


def _per_sample_mask(rng, n: int, p: float) -> np.ndarray:
    """n independent coin flips, each True with probability p (exactly never / always at 0 / 1)."""
    return rng.random(n) < p


# ---------------------------------------------------------------------------
# 1-D signals, shape (N, L)
# ---------------------------------------------------------------------------


class Shift(SignalTransform):
    r"""Shift each sequence by its own integer :math:`k_i`, uniform in [-max_shift, max_shift].

    .. math:: \tilde x_{i,t} = x_{i,\, t - k_i}, \qquad t = 0, \dots, L - 1,

    so :math:`k_i > 0` moves the signal to the right. Positions :math:`t - k_i`
    outside :math:`0 .. L-1` are filled according to ``mode``:

    - ``"zeros"`` (default): 0, which is the mean of the (standardized) data;
    - ``"edge"``: the first or last value, repeated;
    - ``"wrap"``: circular, what falls off one end comes back at the other (``np.roll``).

    Why zeros by default: MNIST-1D's generator pads each digit template with
    zeros and translates it *circularly* inside that zero background, and only
    then adds the noise and the linear "shear" ramp. Shifting a finished
    sequence with ``"wrap"`` glues the two ends of that ramp together into a jump
    the generator never makes; filling with zeros moves the digit over a
    neutral background, as the generator does. Measured with a nearest-template
    classifier on the official test set (``tests/test_augment.py``): about 77%
    right on the clean sequences and after ``Shift(3)`` with zeros or edge, 70%
    with wrap.
    """

    _fields = ("max_shift", "mode")

    def __init__(self, max_shift: int, mode: str = "zeros"):
        self.max_shift = _non_negative_int("max_shift", max_shift)
        if mode not in SHIFT_MODES:
            raise ValueError(f"mode must be one of {SHIFT_MODES}, got {mode!r}")
        self.mode = mode

    def apply(self, X, rng):
        n, length = X.shape
        shifts = rng.integers(-self.max_shift, self.max_shift + 1, size=n)
        source = np.arange(length) - shifts[:, None]
        if self.mode == "wrap":
            return _take(X, source % length)
        if self.mode == "edge":
            return _take(X, np.clip(source, 0, length - 1))
        return _take(X, source, inside=(source >= 0) & (source < length))


class Scale(SignalTransform):
    r"""Multiply each sequence by its own factor :math:`a_i \sim U[\text{low}, \text{high}]`.

    .. math:: \tilde x_{i,t} = a_i\, x_{i,t}

    Amplitude scaling: louder or softer audio, a taller or flatter digit. MNIST-1D's
    generator scales each template by a factor in [0.8, 1.2], so ``Scale(0.8, 1.2)``
    stays within what the data already contain. ``Scale(1, 1)`` is the identity.
    """

    _fields = ("low", "high")

    def __init__(self, low: float, high: float):
        self.low = _number("low", low, "> 0", lambda v: v > 0)
        self.high = _number("high", high, f">= low = {self.low}", lambda v: v >= self.low)

    def apply(self, X, rng):
        factors = rng.uniform(self.low, self.high, size=(len(X), 1))
        return X * _as_like(factors, X)


class AddNoise(SignalTransform):
    r"""Add independent Gaussian noise to every value: :math:`\tilde x = x + \sigma\,\varepsilon`.

    :math:`\varepsilon_{i,t} \sim \mathcal N(0, 1)`, so in units of the data's
    standard deviation (1 after standardizing) ``sigma`` is the noise level.
    ``AddNoise(0)`` is the identity. Training with small input noise acts like
    an L2 penalty on the model's input gradient (Bishop, 1995).
    """

    _fields = ("sigma",)

    def __init__(self, sigma: float):
        self.sigma = _number("sigma", sigma, ">= 0", lambda v: v >= 0)

    def apply(self, X, rng):
        noise = self.sigma * rng.standard_normal(size=tuple(X.shape))
        return X + _as_like(noise, X)


class Stretch(SignalTransform):
    r"""Time stretch: resample each sequence about its centre, length unchanged.

    With :math:`s_i \sim U[-\text{max\_stretch}, \text{max\_stretch}]` and the
    centre :math:`c = (L - 1)/2`, position :math:`t` of the output reads the
    input at

    .. math:: t' = c + (t - c)(1 + s_i),

    clipped to :math:`[0, L - 1]` (the edge value beyond the ends), by linear
    interpolation between its neighbours :math:`\lfloor t' \rfloor` and
    :math:`\lfloor t' \rfloor + 1`. :math:`s_i > 0` reads further out, so the
    content shrinks towards the centre; :math:`s_i < 0` magnifies it.

    This is MNIST-1D's own "dilation": its generator pads each template with
    36 to 60 zeros and resamples, so a digit's width varies by about +-20%;
    ``Stretch(0.2)`` imitates that. (What the generator calls ``shear`` adds a
    linear ramp; it does not resample.) ``max_stretch`` lies in [0, 1), so
    :math:`1 + s_i > 0`; ``Stretch(0)`` is the identity.
    """

    _fields = ("max_stretch",)
    min_length = 2

    def __init__(self, max_stretch: float):
        self.max_stretch = _number("max_stretch", max_stretch, "in [0, 1)", lambda v: 0 <= v < 1)

    def apply(self, X, rng):
        n, length = X.shape
        stretch = rng.uniform(-self.max_stretch, self.max_stretch, size=(n, 1))
        centre = (length - 1) / 2
        position = np.clip(centre + (np.arange(length) - centre) * (1 + stretch), 0, length - 1)
        left = np.minimum(np.floor(position).astype(np.int64), length - 2)
        weight = position - left
        return _take(X, left) * _as_like(1 - weight, X) + _take(X, left + 1) * _as_like(weight, X)


class TimeReverse(SignalTransform):
    r"""Reverse each sequence with probability ``p``: :math:`\tilde x_{i,t} = x_{i,\,L-1-t}`.

    LABEL-BREAKING on MNIST-1D, included to show what such a transform does. Of
    the ten digit templates, those of 0, 3, 6 and 8 read the same backwards, 2
    reads as its own negative, and 1, 4, 5, 7, 9 become new shapes. A model
    trained with this "augmentation" is told that a reversed 7 is still a 7. A
    nearest-template classifier that is right on 64% of the six asymmetric test
    digits is right on 13% of them once they are reversed (chance is 10%), and
    on 96% of the four symmetric ones either way (``tests/test_augment.py``).
    """

    _fields = ("p",)

    def __init__(self, p: float = 0.5):
        self.p = in_unit_interval("p", p)

    def apply(self, X, rng):
        n, length = X.shape
        reverse = _per_sample_mask(rng, n, self.p)[:, None]
        t = np.arange(length)
        return _take(X, np.where(reverse, length - 1 - t, t))


# ---------------------------------------------------------------------------
# Images, shape (N, H, W) or flattened (N, H*H)
# ---------------------------------------------------------------------------


def _pixels_at(images, rows: np.ndarray, cols: np.ndarray):
    """``images[i, rows[i, r, c], cols[i, r, c]]`` for integer coordinates, 0 outside the image.

    ``images`` is (N, H, W); ``rows`` and ``cols`` are (N, H, W) integer NumPy
    arrays (or broadcast to it): output pixel (r, c) of image i is read there.
    """
    n, height, width = images.shape
    rows = np.broadcast_to(rows, (n, height, width))
    cols = np.broadcast_to(cols, (n, height, width))
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    index = rows * width + cols
    flat = _take(images.reshape(n, height * width), index.reshape(n, -1), inside.reshape(n, -1))
    return flat.reshape(n, height, width)


def _bilinear(images, rows: np.ndarray, cols: np.ndarray):
    r"""``images`` read at real-valued coordinates by bilinear interpolation, 0 outside.

    With :math:`r_0 = \lfloor r \rfloor`, :math:`a = r - r_0` (and :math:`c_0, b`
    for the column) the value is

    .. math:: (1-a)(1-b)\,x_{r_0, c_0} + (1-a)\,b\,x_{r_0, c_0+1}
              + a\,(1-b)\,x_{r_0+1, c_0} + a\,b\,x_{r_0+1, c_0+1}.
    """
    top, left = np.floor(rows), np.floor(cols)
    a, b = rows - top, cols - left
    top, left = top.astype(np.int64), left.astype(np.int64)
    out = 0
    for dr, row_weight in ((0, 1 - a), (1, a)):
        for dc, col_weight in ((0, 1 - b), (1, b)):
            pixels = _pixels_at(images, top + dr, left + dc)
            out = out + pixels * _as_like(row_weight * col_weight, images)
    return out


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column index of every pixel, each of shape (1, H, W), ready to broadcast over N."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return rows[None], cols[None]


def _rotate(images, degrees: np.ndarray):
    r"""Turn image i by ``degrees[i]`` about its centre (counter-clockwise as shown by imshow).

    Output pixel :math:`(r, c)` reads the input at :math:`R(-\theta)` applied to
    its offset from the centre; in coordinates :math:`x = c - c_0` (right) and
    :math:`y = r_0 - r` (up):

    .. math:: x' = x\cos\theta + y\sin\theta, \qquad y' = -x\sin\theta + y\cos\theta.
    """
    n, height, width = images.shape
    rows, cols = _grid(height, width)
    row_centre, col_centre = (height - 1) / 2, (width - 1) / 2
    theta = np.deg2rad(degrees)[:, None, None]
    x, y = cols - col_centre, row_centre - rows
    x_source = x * np.cos(theta) + y * np.sin(theta)
    y_source = -x * np.sin(theta) + y * np.cos(theta)
    return _bilinear(images, row_centre - y_source, col_centre + x_source)


class ImageShift(ImageTransform):
    r"""Shift each image by integers :math:`(d_r, d_c)`, each uniform in [-max_shift, max_shift].

    .. math:: \tilde x_{r, c} = x_{r - d_r,\, c - d_c}, \quad 0 \text{ where that is outside}.

    On 8x8 digits one pixel is 1/8 of the width, and the digits fill the frame:
    ``ImageShift(1)`` is a sizeable move that may push a stroke out of the image.
    The label survives, but a classifier trained on the centred digits does not
    (a logistic regression falls from 96% to under 40% test accuracy): the
    invariance must be learned, which is what training with shifts is for.
    Zero fill is mean fill for standardized pixels (see the module's notes).
    """

    _fields = ("max_shift",)

    def __init__(self, max_shift: int):
        self.max_shift = _non_negative_int("max_shift", max_shift)

    def apply_images(self, images, rng):
        n, height, width = images.shape
        shifts = rng.integers(-self.max_shift, self.max_shift + 1, size=(2, n, 1, 1))
        rows, cols = _grid(height, width)
        return _pixels_at(images, rows - shifts[0], cols - shifts[1])


class Rotate(ImageTransform):
    r"""Rotate each image about its centre by an angle uniform in [-max_degrees, max_degrees].

    Positive angles turn counter-clockwise as the image is shown (row 0 on top).
    Pixels are read by bilinear interpolation (see ``_bilinear``); what comes
    from outside the image is 0 (the mean, for standardized pixels).
    ``Rotate(0)`` is the identity. Small angles (10 to 15 degrees) keep a digit a
    digit; at 180 a 6 becomes a 9 (:class:`Rotate180`).
    """

    _fields = ("max_degrees",)

    def __init__(self, max_degrees: float):
        self.max_degrees = _number(
            "max_degrees", max_degrees, "in [0, 180]", lambda v: 0 <= v <= 180
        )

    def apply_images(self, images, rng):
        degrees = rng.uniform(-self.max_degrees, self.max_degrees, size=len(images))
        return _rotate(images, degrees)


class ImageNoise(AddNoise):
    r"""Add independent Gaussian noise to every pixel: :math:`\tilde x = x + \sigma\,\varepsilon`.

    The same transform as :class:`AddNoise` (its ``apply`` works for any shape),
    for images (N, H, W) or flattened rows (N, H*H).
    """

    def check_input(self, X) -> None:
        _image_size(X, "ImageNoise")


class Cutout(ImageTransform):
    r"""Zero a ``size`` x ``size`` square of each image (DeVries & Taylor, 2017).

    The square's centre :math:`(r_i, c_i)` is a pixel drawn uniformly; the square
    covers rows :math:`r_i - \lfloor \text{size}/2 \rfloor` to
    :math:`r_i - \lfloor \text{size}/2 \rfloor + \text{size} - 1` (and likewise
    columns) and is cut off at the border, so squares near the edge are
    partly outside, as in the paper. Only zeros are written: the mean, for
    standardized pixels. ``size`` must not exceed the image's height or width.
    """

    _fields = ("size",)

    def __init__(self, size: int):
        self.size = positive_int("size", size)

    def check_input(self, X) -> None:
        height, width = _image_size(X, "Cutout")
        if self.size > min(height, width):
            raise ValueError(
                f"Cutout size must be at most the image side {min(height, width)}, "
                f"got size={self.size} for {height}x{width} images"
            )

    def apply_images(self, images, rng):
        n, height, width = images.shape
        top = rng.integers(0, height, size=(n, 1, 1)) - self.size // 2
        left = rng.integers(0, width, size=(n, 1, 1)) - self.size // 2
        rows, cols = _grid(height, width)
        cut = (rows >= top) & (rows < top + self.size) & (cols >= left) & (cols < left + self.size)
        return _where(_as_like(~cut, images), images, 0.0)


class _Flip(ImageTransform):
    """Mirror each image, with probability p, in the rows and/or the columns."""

    _fields = ("p",)
    flip_rows = flip_cols = False

    def __init__(self, p: float = 0.5):
        self.p = in_unit_interval("p", p)

    def apply_images(self, images, rng):
        n, height, width = images.shape
        flip = _per_sample_mask(rng, n, self.p)[:, None, None]
        rows, cols = _grid(height, width)
        if self.flip_rows:
            rows = np.where(flip, height - 1 - rows, rows)
        if self.flip_cols:
            cols = np.where(flip, width - 1 - cols, cols)
        return _pixels_at(images, rows, cols)


class Rotate180(_Flip):
    r"""Turn each image by 180 degrees with probability ``p``.

    .. math:: \tilde x_{r,c} = x_{H-1-r,\,W-1-c}

    LABEL-BREAKING on digits, included to show what such a transform does: a 6
    turned upside down is a 9 (and a 9 a 6). Exact (no interpolation); the same
    as ``Rotate`` at exactly 180 degrees.
    """

    flip_rows = flip_cols = True


class FlipHorizontal(_Flip):
    r"""Mirror each image left-right with probability ``p``: :math:`\tilde x_{r,c} = x_{r,\,W-1-c}`.

    Harmless for photos of cats, LABEL-BREAKING for digits (a mirrored 2, 3, 4,
    5, 7 or 9 is not that digit); included to show what such a transform does.
    """

    flip_cols = True


# ---------------------------------------------------------------------------
# Combining transforms
# ---------------------------------------------------------------------------


def _check_transform(name: str, transform) -> None:
    if not callable(transform):
        raise ValueError(
            f"{name} must be a transform called as transform(X, rng), got {transform!r}"
        )


class Compose(Transform):
    r"""Apply transforms in order: ``Compose(f, g)(X, rng) = g(f(X, rng), rng)``.

    All draw from the same ``rng``, one after the other. ``Compose()`` with no
    transform returns ``X`` itself (handy as the "no augmentation" setting of a
    sweep).
    """

    def __init__(self, *transforms):
        for k, transform in enumerate(transforms):
            _check_transform(f"Compose's argument {k}", transform)
        self.transforms = transforms

    def apply(self, X, rng):
        for transform in self.transforms:
            X = transform(X, rng)
        return X

    def __repr__(self) -> str:
        return f"Compose({', '.join(map(repr, self.transforms))})"


class RandomApply(Transform):
    r"""Apply ``transform`` to each sample independently with probability ``p``.

    .. math:: \tilde x_i = \begin{cases} T(x)_i & \text{if } u_i < p, \\
              x_i & \text{otherwise,} \end{cases} \qquad u_i \sim U[0, 1).

    ``transform`` runs on the whole batch first and the coins :math:`u_i` are
    drawn after it, so ``p=1`` gives exactly ``transform(X, rng)`` and ``p=0``
    gives ``X``.
    """

    _fields = ("transform", "p")

    def __init__(self, transform, p: float):
        _check_transform("transform", transform)
        self.transform = transform
        self.p = in_unit_interval("p", p)

    def apply(self, X, rng):
        transformed = self.transform(X, rng)
        if tuple(transformed.shape) != tuple(X.shape):
            raise ValueError(
                f"RandomApply: {self.transform!r} changed the batch's shape from "
                f"{tuple(X.shape)} to {tuple(transformed.shape)}"
            )
        apply = _per_sample_mask(rng, len(X), self.p).reshape((-1,) + (1,) * (X.ndim - 1))
        return _where(_as_like(apply, X), transformed, X)
