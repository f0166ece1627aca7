"""Gaussian input/hidden noise: statistics, train/eval, gradients, parity, devices, errors."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

import regcourse.numpy as rnp
import regcourse.torch as rt


def test_eval_mode_is_the_identity():
    x = np.random.default_rng(0).standard_normal((3, 5))
    np.testing.assert_array_equal(rnp.GaussianNoise(0.5).eval()(x), x)
    tx = torch.tensor(x)
    torch.testing.assert_close(rt.GaussianNoise(0.5).eval()(tx), tx, rtol=0, atol=0)


def test_sigma_zero_is_the_identity_in_training_mode():
    x = np.random.default_rng(0).standard_normal((3, 5))
    layer = rnp.GaussianNoise(0.0)
    np.testing.assert_array_equal(layer(x), x)
    assert layer.training and layer.noise is None  # nothing drawn
    tx = torch.tensor(x)
    torch.testing.assert_close(rt.GaussianNoise(0).train()(tx), tx, rtol=0, atol=0)


def test_the_output_does_not_alias_the_input():
    x = np.ones((2, 3))
    y = rnp.GaussianNoise(0.1).eval()(x)
    y[0, 0] = 5.0
    assert x[0, 0] == 1.0


# 200,000 draws: the sample mean has std sigma / sqrt(n) = sigma * 0.0022 and the sample
# std has std about sigma / sqrt(2n) = sigma * 0.0016; the tolerances are 5 of those.
N_ROWS, N_COLS = 500, 400
MEAN_TOL = 5 / np.sqrt(N_ROWS * N_COLS)
STD_TOL = 5 / np.sqrt(2 * N_ROWS * N_COLS)


@pytest.mark.parametrize("sigma", [0.1, 0.5, 2.0])
def test_numpy_noise_has_mean_zero_and_std_sigma(sigma):
    rnp.manual_seed(0)
    layer = rnp.GaussianNoise(sigma)
    x = np.random.default_rng(1).standard_normal((N_ROWS, N_COLS))
    noise = layer(x) - x
    np.testing.assert_allclose(noise, layer.noise, rtol=0, atol=1e-12)
    assert abs(noise.mean()) < sigma * MEAN_TOL
    assert abs(noise.std() - sigma) < sigma * STD_TOL


@pytest.mark.parametrize("sigma", [0.1, 2.0])
def test_torch_noise_has_mean_zero_and_std_sigma(sigma):
    torch.manual_seed(0)
    x = torch.randn(N_ROWS, N_COLS, dtype=torch.float64)
    noise = rt.GaussianNoise(sigma)(x) - x
    assert abs(noise.mean().item()) < sigma * MEAN_TOL
    assert abs(noise.std().item() - sigma) < sigma * STD_TOL


def test_fresh_noise_per_call_per_sample_and_per_unit():
    rnp.manual_seed(0)
    layer = rnp.GaussianNoise(1.0)
    first = layer(np.zeros((4, 50))).copy()
    second = layer(np.zeros((4, 50)))
    assert not np.allclose(first, second)
    assert len(np.unique(first)) == first.size  # continuous noise: no two entries equal


def test_seeded_noise_is_reproducible():
    rnp.manual_seed(3)
    a = rnp.GaussianNoise(0.3)(np.zeros((2, 4)))
    rnp.manual_seed(3)
    b = rnp.GaussianNoise(0.3)(np.zeros((2, 4)))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_gradient_check_with_frozen_noise(training):
    rnp.manual_seed(0)
    layer = rnp.GaussianNoise(0.7)
    x = np.random.default_rng(0).standard_normal((4, 6))
    layer(x)  # draws the noise in training mode
    layer.freeze_noise()
    layer.train(training)
    assert max(rnp.check_module_gradients(layer, x).values()) < 1e-7


def test_backward_passes_the_gradient_through_unchanged():
    rnp.manual_seed(0)
    layer = rnp.GaussianNoise(0.7)
    layer(np.zeros((3, 4)))
    dout = np.random.default_rng(0).standard_normal((3, 4))
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dx, dout)
    assert dx is not dout


def test_mlp_with_gaussian_noise_gradient_check():
    rnp.manual_seed(0)
    model = rnp.Sequential(
        rnp.GaussianNoise(0.2),
        rnp.Linear(5, 8),
        rnp.ReLU(),
        rnp.GaussianNoise(0.5),
        rnp.Linear(8, 3),
    )
    x = np.random.default_rng(1).standard_normal((4, 5))
    model(x)
    model[0].freeze_noise()
    model[3].freeze_noise()
    assert max(rnp.check_module_gradients(model, x).values()) < 1e-6


def test_torch_twin_matches_numpy_with_the_same_noise():
    rnp.manual_seed(0)
    np_layer = rnp.GaussianNoise(0.4)
    x = np.random.default_rng(2).standard_normal((5, 7))
    y = np_layer(x)
    dy = np.random.default_rng(3).standard_normal(y.shape)
    dx = np_layer.backward(dy)
    t_layer = rt.GaussianNoise(0.4)
    t_layer.noise = torch.tensor(np_layer.noise)
    t_layer.freeze_noise()
    tx = torch.tensor(x, requires_grad=True)
    ty = t_layer(tx)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(ty.detach().numpy(), y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tx.grad.numpy(), dx, rtol=1e-12, atol=1e-14)


def test_frozen_torch_noise_is_reused_and_follows_the_input_dtype():
    layer = rt.GaussianNoise(1.0)
    x = torch.zeros(3, 4, dtype=torch.float64)
    first = layer(x)
    layer.freeze_noise()
    torch.testing.assert_close(layer(x), first, rtol=0, atol=0)
    assert layer(x.float()).dtype == torch.float32
    layer.freeze_noise(False)
    assert not torch.equal(layer(x), first)


def test_torch_twin_on_meta_device():
    x = torch.empty(4, 6, device="meta", requires_grad=True)
    layer = rt.GaussianNoise(0.3)
    y = layer(x)
    y.sum().backward()
    assert y.device.type == "meta" and x.grad.device.type == "meta"
    assert layer.noise.device.type == "meta"
    model = rt.Sequential(
        rt.Linear(6, 5, device="meta"),
        rt.ReLU(),
        rt.GaussianNoise(0.1),
        rt.Linear(5, 3, device="meta"),
    )
    loss = rt.CrossEntropyLoss()(model(x), torch.empty(4, dtype=torch.long, device="meta"))
    loss.backward()
    assert model[0].weight.grad.device.type == "meta"


def test_state_dicts_are_empty_and_repr_names_sigma():
    np_layer, t_layer = rnp.GaussianNoise(0.25), rt.GaussianNoise(0.25)
    np_layer(np.zeros((2, 3)))
    t_layer(torch.zeros(2, 3))
    assert np_layer.state_dict() == {} and np_layer.parameters() == []
    assert dict(t_layer.state_dict()) == {} and list(t_layer.parameters()) == []
    assert repr(np_layer) == "GaussianNoise(sigma=0.25)"
    assert repr(t_layer) == "GaussianNoise(sigma=0.25)"


def test_input_noise_on_linear_regression_is_ridge_with_alpha_n_sigma2():
    """The docstring's claim: least squares on noisy copies of the data -> ridge, alpha = n sigma^2.

    With K noisy copies of n samples the objective is an average over K * n noise draws;
    its minimizer moves from the expected one by O(1 / sqrt(K n)) ~ 0.003 relative here.
    """
    rng = np.random.default_rng(0)
    n, d, sigma, copies = 40, 3, 0.5, 2500
    X = rng.standard_normal((n, d))
    y = X @ np.array([2.0, -1.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(n)
    rnp.manual_seed(0)
    X_noisy = rnp.GaussianNoise(sigma)(np.tile(X, (copies, 1)))
    design = np.column_stack([X_noisy, np.ones(len(X_noisy))])  # unpenalized intercept
    coef = np.linalg.lstsq(design, np.tile(y, copies), rcond=None)[0]
    ridge = Ridge(alpha=n * sigma**2).fit(X, y)
    np.testing.assert_allclose(coef[:d], ridge.coef_, rtol=0.02)
    assert coef[d] == pytest.approx(ridge.intercept_, abs=0.02)
    plain = np.linalg.lstsq(np.column_stack([X, np.ones(n)]), y, rcond=None)[0]
    assert np.linalg.norm(coef[:d]) < 0.95 * np.linalg.norm(plain[:d])  # visibly shrunk


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
@pytest.mark.parametrize("sigma", [-0.1, "0.5", None, True, float("nan"), float("inf")])
def test_bad_sigma_raises(module, sigma):
    with pytest.raises(ValueError, match="sigma must be a number >= 0"):
        module.GaussianNoise(sigma)


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
def test_freezing_without_noise_raises(module):
    with pytest.raises(RuntimeError, match="needs noise"):
        module.GaussianNoise(0.5).freeze_noise()
    with pytest.raises(ValueError, match="frozen must be True or False"):
        module.GaussianNoise(0.5).freeze_noise("yes")


def test_frozen_noise_of_another_shape_raises():
    layer = rnp.GaussianNoise(0.5)
    layer(np.zeros((2, 3)))
    layer.freeze_noise()
    with pytest.raises(ValueError, match=r"frozen noise has shape \(2, 3\), input has \(4, 3\)"):
        layer(np.zeros((4, 3)))
    t_layer = rt.GaussianNoise(0.5)
    t_layer(torch.zeros(2, 3))
    t_layer.freeze_noise()
    with pytest.raises(ValueError, match="frozen noise has shape"):
        t_layer(torch.zeros(4, 3))


def test_numpy_backward_before_forward_or_with_a_wrong_shape_raises():
    with pytest.raises(RuntimeError, match="GaussianNoise.backward called before forward"):
        rnp.GaussianNoise(0.5).backward(np.ones((2, 2)))
    layer = rnp.GaussianNoise(0.5)
    layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expects dout of the forward output's shape \(2, 3\)"):
        layer.backward(np.ones((3, 2)))


def test_torch_twin_rejects_integer_input():
    with pytest.raises(ValueError, match="floating-point input"):
        rt.GaussianNoise(0.5)(torch.zeros(2, 3, dtype=torch.long))


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
def test_both_sides_use_current_noise_and_the_same_frozen_shape_message(module):
    layer = module.GaussianNoise(0.5)
    x = np.zeros((2, 3)) if module is rnp else torch.zeros(2, 3)
    layer(x)
    noise = layer.noise
    layer.freeze_noise()
    assert (layer.current_noise(x) == noise).all()
    with pytest.raises(
        ValueError,
        match=r"^GaussianNoise: frozen noise has shape \(2, 3\), "
        r"input has \(4, 3\); a frozen noise must match",
    ):
        layer(np.zeros((4, 3)) if module is rnp else torch.zeros(4, 3))


def test_noise_checks_live_in_the_neutral_module():
    import regcourse._checks as checks
    import regcourse.numpy.noise as np_noise

    assert np_noise.check_sigma is checks.check_sigma  # still importable from the NumPy side
    assert np_noise.check_frozen is checks.check_frozen
