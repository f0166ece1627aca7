"""regcourse.augment: shapes, dtypes, NumPy/torch parity, seeds, semantics, labels, errors."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import regcourse.augment as A
from regcourse.data import load_digits_splits, load_mnist1d

SIGNAL_TRANSFORMS = [
    A.Shift(3),
    A.Shift(3, mode="edge"),
    A.Shift(3, mode="wrap"),
    A.Scale(0.8, 1.2),
    A.AddNoise(0.1),
    A.Stretch(0.2),
    A.TimeReverse(),
    A.TimeReverse(p=1.0),
    A.Compose(A.Shift(3), A.Scale(0.8, 1.2), A.AddNoise(0.05)),
    A.RandomApply(A.Stretch(0.3), p=0.5),
]
IMAGE_TRANSFORMS = [
    A.ImageShift(1),
    A.ImageShift(2),
    A.Rotate(15),
    A.Rotate(180),
    A.ImageNoise(0.1),
    A.Cutout(3),
    A.Rotate180(),
    A.FlipHorizontal(),
    A.Compose(A.Rotate(10), A.ImageShift(1), A.Cutout(2)),
    A.RandomApply(A.Rotate(30), p=0.5),
]
ALL = [(t, (6, 40)) for t in SIGNAL_TRANSFORMS] + [
    (t, shape) for t in IMAGE_TRANSFORMS for shape in [(6, 64), (6, 8, 8)]
]
ALL_IDS = [f"{t!r}-{shape}" for t, shape in ALL]
DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: 1e-6, np.float64: 1e-12}


def batch(shape, dtype=np.float64, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def run(transform, X, seed=0):
    return transform(X, np.random.default_rng(seed))


# ---------------------------------------------------------------------------
# Type, shape, dtype, device; NumPy and torch give the same numbers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("transform, shape", ALL, ids=ALL_IDS)
def test_numpy_and_torch_keep_type_shape_dtype_and_agree(transform, shape, dtype):
    X = batch(shape, dtype)
    before = X.copy()
    out = run(transform, X)
    assert type(out) is np.ndarray and out.shape == X.shape and out.dtype == dtype
    np.testing.assert_array_equal(X, before)  # the input is never changed

    tensor = torch.tensor(X)
    out_torch = run(transform, tensor)
    assert isinstance(out_torch, torch.Tensor)
    assert out_torch.shape == tensor.shape and out_torch.dtype == tensor.dtype
    np.testing.assert_allclose(out_torch.numpy(), out, rtol=0, atol=TOLERANCE[dtype])
    assert torch.equal(tensor, torch.tensor(before))


@pytest.mark.parametrize("transform, shape", ALL, ids=ALL_IDS)
def test_runs_on_the_meta_device(transform, shape):
    """A tensor created on the CPU by accident would fail here: everything is made like X."""
    X = torch.empty(shape, device="meta", dtype=torch.float32)
    out = run(transform, X)
    assert out.device.type == "meta" and out.shape == X.shape and out.dtype == X.dtype


@pytest.mark.parametrize("transform, shape", ALL, ids=ALL_IDS)
def test_same_seed_same_result_different_seed_different(transform, shape):
    X = batch((20,) + shape[1:])
    np.testing.assert_array_equal(run(transform, X, seed=3), run(transform, X, seed=3))
    if getattr(transform, "p", None) != 1.0:  # TimeReverse(p=1) is not random at all
        assert not np.array_equal(run(transform, X, seed=3), run(transform, X, seed=4))


def test_importing_the_module_does_not_import_torch():
    code = "import sys, regcourse.augment; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_repr_names_the_arguments():
    assert repr(A.Shift(3)) == "Shift(max_shift=3, mode='zeros')"
    assert repr(A.Scale(0.8, 1.2)) == "Scale(low=0.8, high=1.2)"
    assert repr(A.RandomApply(A.Cutout(2), 0.5)) == "RandomApply(transform=Cutout(size=2), p=0.5)"
    assert repr(A.Compose(A.AddNoise(0.1), A.Rotate180(p=1))) == (
        "Compose(AddNoise(sigma=0.1), Rotate180(p=1.0))"
    )


# ---------------------------------------------------------------------------
# What each transform does, exactly
# ---------------------------------------------------------------------------

IDENTITIES = [
    (A.Shift(0), (5, 40)),
    (A.Shift(0, mode="wrap"), (5, 40)),
    (A.Shift(0, mode="edge"), (5, 40)),
    (A.AddNoise(0), (5, 40)),
    (A.Stretch(0), (5, 40)),
    (A.Scale(1, 1), (5, 40)),
    (A.TimeReverse(p=0), (5, 40)),
    (A.Rotate(0), (5, 64)),
    (A.ImageShift(0), (5, 8, 8)),
    (A.ImageNoise(0), (5, 64)),
    (A.Rotate180(p=0), (5, 64)),
    (A.FlipHorizontal(p=0), (5, 64)),
    (A.Compose(), (5, 40)),
    (A.RandomApply(A.AddNoise(1.0), p=0), (5, 40)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("transform, shape", IDENTITIES, ids=[repr(t) for t, _ in IDENTITIES])
def test_zero_strength_is_the_identity(transform, shape, dtype):
    X = batch(shape, dtype)
    np.testing.assert_array_equal(run(transform, X), X)
    np.testing.assert_array_equal(run(transform, torch.tensor(X)).numpy(), X)


@pytest.mark.parametrize("mode", ["zeros", "edge", "wrap"])
def test_shift_moves_each_row_by_its_own_integer(mode):
    X = batch((30, 40))
    out = run(A.Shift(4, mode=mode), X)
    shifts = np.random.default_rng(0).integers(-4, 5, size=30)  # the draws Shift makes
    assert len(set(shifts)) > 5
    for x, y, k in zip(X, out, shifts):
        np.testing.assert_array_equal(y, np.roll(x, k) if mode == "wrap" else shifted(x, k, mode))


def shifted(x, k, mode):
    """The textbook shift of one row, with np.pad."""
    padded = np.pad(x, abs(k), mode="constant" if mode == "zeros" else "edge")
    return padded[abs(k) - k : abs(k) - k + len(x)]


def test_shift_stretch_and_rotate_stay_within_the_input_range():
    """Moving and interpolating values never creates new extremes (fills are 0)."""
    X = batch((50, 40)) + 10.0  # all values far from 0, so a fill of 0 would show
    for transform in [A.Shift(5, mode="edge"), A.Shift(5, mode="wrap"), A.Stretch(0.4)]:
        out = run(transform, X)
        eps = 8 * np.finfo(X.dtype).eps * np.abs(X).max()
        assert (out.min(1) >= X.min(1) - eps).all() and (out.max(1) <= X.max(1) + eps).all()
    out = run(A.Shift(5), X)
    assert (out.max(1) <= X.max(1)).all() and (out.min(1) >= 0).all() and (out == 0).any()
    assert ((out == 0) | (out >= X.min(1, keepdims=True))).all()

    images = batch((50, 64)) + 10.0
    out = run(A.Rotate(30), images)
    eps = 8 * np.finfo(images.dtype).eps * np.abs(images).max()
    assert (out.min(1) >= -eps).all() and (out.max(1) <= images.max(1) + eps).all()


def test_scale_multiplies_each_row_by_one_factor_in_range():
    X = batch((200, 40))
    ratio = run(A.Scale(0.5, 2.0), X) / X
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones_like(ratio), rtol=1e-12)
    assert 0.5 <= ratio.min() and ratio.max() <= 2.0 and ratio.max() - ratio.min() > 1.2


def test_noise_has_the_asked_for_standard_deviation():
    X = batch((200, 40))
    for transform, data in [(A.AddNoise(0.3), X), (A.ImageNoise(0.3), X[:, :36])]:
        noise = run(transform, data) - data
        assert abs(noise.std() - 0.3) < 0.01 and abs(noise.mean()) < 0.01


def test_stretch_of_a_straight_line_is_the_resampling_grid():
    """Linear interpolation is exact on a line, so x_t = t comes back as t' = c + (t - c)(1 + s)."""
    n, length = 20, 40
    X = np.tile(np.arange(length, dtype=np.float64), (n, 1))
    stretch = np.random.default_rng(0).uniform(-0.3, 0.3, size=(n, 1))  # the draws Stretch makes
    centre = (length - 1) / 2
    expected = np.clip(centre + (np.arange(length) - centre) * (1 + stretch), 0, length - 1)
    np.testing.assert_allclose(run(A.Stretch(0.3), X), expected, atol=1e-12)


def test_reversals_and_flips_are_exact():
    X = batch((10, 40))
    np.testing.assert_array_equal(run(A.TimeReverse(p=1), X), X[:, ::-1])
    images = batch((10, 8, 8))
    np.testing.assert_array_equal(run(A.Rotate180(p=1), images), images[:, ::-1, ::-1])
    np.testing.assert_array_equal(run(A.FlipHorizontal(p=1), images), images[:, :, ::-1])
    half = run(A.TimeReverse(p=0.5), batch((400, 40)))
    reversed_rows = (half == batch((400, 40))[:, ::-1]).all(1)
    assert 0.4 < reversed_rows.mean() < 0.6


def test_rotation_by_90_and_180_degrees_moves_pixels_exactly():
    images = batch((4, 8, 8))
    turned = A._rotate(images, np.full(4, 90.0))
    np.testing.assert_allclose(turned, np.rot90(images, axes=(1, 2)), atol=1e-12)  # anticlockwise
    np.testing.assert_allclose(
        A._rotate(images, np.full(4, 180.0)), images[:, ::-1, ::-1], atol=1e-12
    )


def test_image_shift_moves_the_picture_and_fills_with_zeros():
    images = batch((30, 8, 8))
    out = run(A.ImageShift(2), images)
    rows, cols = np.random.default_rng(0).integers(-2, 3, size=(2, 30))  # the draws it makes
    for x, y, dr, dc in zip(images, out, rows, cols):
        padded = np.pad(x, 2)
        np.testing.assert_array_equal(y, padded[2 - dr : 10 - dr, 2 - dc : 10 - dc])


def test_cutout_zeros_one_clipped_square_and_nothing_else():
    images = batch((100, 8, 8)) + 5.0  # no pixel is 0
    out = run(A.Cutout(3), images)
    zeroed = out == 0
    np.testing.assert_array_equal(out[~zeroed], images[~zeroed])
    for mask in zeroed:
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        assert mask.sum() == len(rows) * len(cols)  # a rectangle ...
        assert 1 <= len(rows) <= 3 and 1 <= len(cols) <= 3  # ... at most 3x3, cut at the border
        assert np.ptp(rows) == len(rows) - 1 and np.ptp(cols) == len(cols) - 1
    assert (zeroed.sum((1, 2)) == 9).mean() > 0.4  # most squares lie inside


def test_image_transforms_keep_the_callers_layout():
    flat = batch((10, 64))
    for transform in IMAGE_TRANSFORMS:
        square = run(transform, flat.reshape(10, 8, 8))
        np.testing.assert_array_equal(run(transform, flat), square.reshape(10, 64))


# ---------------------------------------------------------------------------
# Compose and RandomApply
# ---------------------------------------------------------------------------


def test_compose_applies_in_order_with_one_rng():
    def double(X, rng):
        return 2 * X

    def add_one(X, rng):
        return X + 1

    X = batch((5, 40))
    np.testing.assert_array_equal(run(A.Compose(double, add_one), X), 2 * X + 1)
    np.testing.assert_array_equal(run(A.Compose(add_one, double), X), 2 * X + 2)

    first, second = A.Shift(3), A.AddNoise(0.1)
    rng = np.random.default_rng(0)
    expected = second(first(X, rng), rng)
    np.testing.assert_array_equal(run(A.Compose(first, second), X), expected)


def test_random_apply_acts_on_each_sample_with_probability_p():
    X = batch((400, 40))
    noise = A.AddNoise(1.0)
    np.testing.assert_array_equal(run(A.RandomApply(noise, p=1), X), run(noise, X))
    out = run(A.RandomApply(noise, p=0.3), X)
    untouched = (out == X).all(1)
    np.testing.assert_array_equal(out[~untouched], run(noise, X)[~untouched])
    assert 0.6 < untouched.mean() < 0.8


# ---------------------------------------------------------------------------
# Label-preserving, or not: measured with classifiers
# ---------------------------------------------------------------------------

SYMMETRIC_DIGITS = [0, 3, 6, 8]  # MNIST-1D templates that read the same backwards


def _resample(x, n):
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(x)), x)


def _unit_rows(X):
    """Remove each row's mean and linear trend (the generator's "shear"), scale to norm 1."""
    X = X - X.mean(1, keepdims=True)
    t = np.linspace(-0.5, 0.5, X.shape[1])
    X = X - np.outer(X @ t / (t @ t), t)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def nearest_template():
    """Classify MNIST-1D by the best-correlated of the generator's templates, padded and moved.

    Each template is padded with zeros and translated circularly as the generator does,
    then sampled at 40 positions: 2,520 references in all; no training needed.
    """
    from mnist1d.data import get_templates

    references, labels = [], []
    for digit, template in enumerate(get_templates()["x"]):
        for padding in range(36, 61, 4):
            padded = _resample(np.concatenate([template, np.zeros(padding)]), 72)
            for k in range(0, 72, 2):
                references.append(_resample(np.roll(padded, k), 40))
                labels.append(digit)
    references, labels = _unit_rows(np.array(references)), np.array(labels)
    return lambda X: labels[np.argmax(_unit_rows(X) @ references.T, axis=1)]


def test_mnist1d_label_preserving_transforms_keep_the_digit(nearest_template):
    X, y = load_mnist1d().test
    clean = (nearest_template(X) == y).mean()
    assert clean > 0.7
    for transform in [A.Shift(3), A.Scale(0.8, 1.2), A.AddNoise(0.1)]:
        assert (nearest_template(run(transform, X)) == y).mean() > clean - 0.03, transform
    # Shift's default, zero fill, keeps more than wrapping the ramp around (its docstring).
    assert (nearest_template(run(A.Shift(3, mode="wrap"), X)) == y).mean() < clean - 0.03


def test_mnist1d_time_reversal_breaks_the_asymmetric_digits(nearest_template):
    X, y = load_mnist1d().test
    right = nearest_template(X) == y
    right_reversed = nearest_template(run(A.TimeReverse(p=1), X)) == y
    symmetric = np.isin(y, SYMMETRIC_DIGITS)
    assert right[~symmetric].mean() > 0.55 and right_reversed[~symmetric].mean() < 0.2  # chance 0.1
    assert right_reversed[symmetric].mean() > right[symmetric].mean() - 0.03


@pytest.fixture(scope="module")
def digits_classifier():
    from sklearn.linear_model import LogisticRegression

    splits = load_digits_splits(seed=0)
    model = LogisticRegression(max_iter=1000).fit(*splits.train)
    X = np.concatenate([splits.val[0], splits.test[0]])
    y = np.concatenate([splits.val[1], splits.test[1]])
    return model, X, y


def test_digits_small_rotations_keep_and_rotate180_swaps_six_and_nine(digits_classifier):
    model, X, y = digits_classifier
    clean = model.score(X, y)
    assert clean > 0.9
    assert model.score(run(A.Rotate(10), X), y) > clean - 0.03
    assert model.score(run(A.ImageShift(1), X), y) < 0.5  # the invariance must be learned
    predicted = model.predict(run(A.Rotate180(p=1), X))
    assert (predicted[y == 6] == 9).mean() > 0.6 and (predicted[y == 9] == 6).mean() > 0.3
    assert (model.predict(X)[y == 6] == 9).mean() < 0.05


# ---------------------------------------------------------------------------
# Bad arguments and bad input
# ---------------------------------------------------------------------------

BAD_ARGUMENTS = [
    (lambda: A.Shift(-1), "max_shift must be an integer >= 0"),
    (lambda: A.Shift(1.5), "max_shift must be an integer >= 0"),
    (lambda: A.Shift(True), "max_shift must be an integer >= 0"),
    (lambda: A.Shift(2, mode="reflect"), "mode must be one of"),
    (lambda: A.Scale(0, 1), "low must be a finite number > 0"),
    (lambda: A.Scale(-1, 1), "low must be a finite number > 0"),
    (lambda: A.Scale(1.2, 0.8), r"high must be a finite number >= low = 1.2"),
    (lambda: A.Scale(1, float("inf")), "high must be a finite number"),
    (lambda: A.AddNoise(-0.1), "sigma must be a finite number >= 0"),
    (lambda: A.AddNoise(float("nan")), "sigma must be a finite number >= 0"),
    (lambda: A.ImageNoise("0.1"), "sigma must be a finite number >= 0"),
    (lambda: A.Stretch(1.0), r"max_stretch must be a finite number in \[0, 1\)"),
    (lambda: A.Stretch(-0.1), r"max_stretch must be a finite number in \[0, 1\)"),
    (lambda: A.TimeReverse(p=1.5), r"p must lie in \[0, 1\]"),
    (lambda: A.ImageShift(-2), "max_shift must be an integer >= 0"),
    (lambda: A.Rotate(-5), r"max_degrees must be a finite number in \[0, 180\]"),
    (lambda: A.Rotate(200), r"max_degrees must be a finite number in \[0, 180\]"),
    (lambda: A.Cutout(0), "size must be a positive integer"),
    (lambda: A.Cutout(2.5), "size must be a positive integer"),
    (lambda: A.Rotate180(p=-0.1), r"p must lie in \[0, 1\]"),
    (lambda: A.FlipHorizontal(p=2), r"p must lie in \[0, 1\]"),
    (lambda: A.RandomApply(A.Shift(1), p=1.1), r"p must lie in \[0, 1\]"),
    (lambda: A.RandomApply("shift", p=0.5), "transform must be a transform called as"),
    (lambda: A.Compose(A.Shift(1), 3), "Compose's argument 1 must be a transform"),
]


@pytest.mark.parametrize("make, message", BAD_ARGUMENTS, ids=[m for _, m in BAD_ARGUMENTS])
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


BAD_INPUT = [
    (A.Shift(1), np.zeros((4, 8, 8)), r"Shift expects a batch of 1-D signals of shape \(N, L\)"),
    (A.Scale(1, 2), np.zeros(40), r"Scale expects a batch of 1-D signals"),
    (A.Stretch(0.1), np.zeros((4, 1)), r"Stretch expects .* with L >= 2"),
    (A.AddNoise(0.1), np.zeros((0, 40)), "X must be a non-empty batch"),
    (A.Shift(1), np.zeros((4, 40), dtype=np.int64), "X must hold floating-point numbers"),
    (A.Shift(1), torch.zeros(4, 40, dtype=torch.int64), "X must hold floating-point numbers"),
    (A.Shift(1), [[0.0, 1.0]], "X must be a NumPy array or a torch tensor, got list"),
    (A.Rotate(10), np.zeros((4, 63)), "a flattened image row must have a square length"),
    (A.ImageNoise(0.1), np.zeros((4, 2, 8, 8)), r"ImageNoise expects images of shape \(N, H, W\)"),
    (A.Cutout(3), np.zeros((4, 2, 2)), "Cutout size must be at most the image side 2"),
    (A.Compose(A.Shift(1)), np.zeros((0, 40)), "X must be a non-empty batch"),
    (A.RandomApply(lambda X, rng: X[:, :3], 0.5), np.zeros((4, 40)), "changed the batch's shape"),
]


@pytest.mark.parametrize("transform, X, message", BAD_INPUT, ids=[m for *_, m in BAD_INPUT])
def test_bad_input_raises(transform, X, message):
    with pytest.raises(ValueError, match=message):
        transform(X, np.random.default_rng(0))


@pytest.mark.parametrize("rng", [0, None, np.random.RandomState(0)])
def test_rng_must_be_a_numpy_generator(rng):
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        A.Shift(1)(np.zeros((2, 40)), rng)
