"""Dropout and its family: statistics, train/eval behaviour, gradients, parity, devices, errors."""

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt

P_VALUES = [0.1, 0.5, 0.8]


@pytest.mark.parametrize("p", P_VALUES)
@pytest.mark.parametrize("mode", ["inverted", "vanilla"])
def test_mask_fraction_and_expectation(p, mode):
    """A fraction p of units is dropped, and E[train output] equals the eval output."""
    rnp.manual_seed(0)
    layer = rnp.Dropout(p, mode=mode)
    x = np.full((500, 400), 2.0)  # 200,000 units: std of the dropped fraction ~ 0.001
    y = layer(x)
    assert abs((1 - layer.mask.mean()) - p) < 0.005
    assert abs(y.mean() - layer.eval()(x).mean()) < 0.02 * y.mean() + 1e-12


def test_masks_differ_per_sample_and_per_unit():
    rnp.manual_seed(0)
    layer = rnp.Dropout(0.5)
    layer(np.ones((4, 50)))
    assert not (layer.mask[0] == layer.mask[1]).all()
    assert 0 < layer.mask[0].sum() < 50


def test_eval_is_identity_for_inverted_and_scaling_for_vanilla():
    x = np.random.default_rng(0).standard_normal((3, 5))
    np.testing.assert_array_equal(rnp.Dropout(0.3).eval()(x), x)
    np.testing.assert_allclose(rnp.Dropout(0.3, mode="vanilla").eval()(x), 0.7 * x)
    tx = torch.tensor(x)
    torch.testing.assert_close(rt.Dropout(0.3).eval()(tx), tx)
    torch.testing.assert_close(rt.Dropout(0.3, mode="vanilla").eval()(tx), 0.7 * tx)


def test_inverted_training_output_is_masked_and_scaled():
    rnp.manual_seed(1)
    layer = rnp.Dropout(0.25)
    x = np.arange(1.0, 13.0).reshape(3, 4)
    np.testing.assert_allclose(layer(x), x * layer.mask / 0.75)


@pytest.mark.parametrize(
    "make",
    [
        lambda: rnp.Dropout(0.4),
        lambda: rnp.Dropout(0.4, mode="vanilla"),
        lambda: rnp.GaussianDropout(0.4),
        lambda: rnp.AlphaDropout(0.2),
    ],
    ids=["inverted", "vanilla", "gaussian", "alpha"],
)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_gradient_check_with_frozen_mask(make, training):
    rnp.manual_seed(0)
    layer = make()
    x = np.random.default_rng(0).standard_normal((4, 6))
    layer(x)  # draws a mask in training mode
    layer.freeze_mask()
    layer.train(training)
    assert max(rnp.check_module_gradients(layer, x).values()) < 1e-7


def test_mlp_with_dropout_gradient_check():
    rnp.manual_seed(0)
    model = rnp.Sequential(rnp.Linear(5, 8), rnp.ReLU(), rnp.Dropout(0.5), rnp.Linear(8, 3))
    x = np.random.default_rng(1).standard_normal((4, 5))
    model(x)
    model[2].freeze_mask()
    assert max(rnp.check_module_gradients(model, x).values()) < 1e-6


@pytest.mark.parametrize("cls", ["Dropout", "GaussianDropout", "AlphaDropout"])
def test_torch_twin_matches_numpy_with_a_shared_mask(cls):
    rnp.manual_seed(0)
    np_layer = getattr(rnp, cls)(0.3)
    x = np.random.default_rng(2).standard_normal((5, 7))
    y = np_layer(x)
    dy = np.random.default_rng(3).standard_normal(y.shape)
    dx = np_layer.backward(dy)
    t_layer = getattr(rt, cls)(0.3)
    t_layer.mask = torch.tensor(np_layer.mask)
    t_layer.freeze_mask()
    tx = torch.tensor(x, requires_grad=True)
    t_layer(tx).backward(torch.tensor(dy))
    np.testing.assert_allclose(t_layer(tx).detach().numpy(), y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tx.grad.numpy(), dx, rtol=1e-12, atol=1e-14)


def test_torch_dropout_statistics_match_torch_nn_dropout():
    torch.manual_seed(0)
    x = torch.ones(400, 500)
    ours, ref = rt.Dropout(0.3)(x), torch.nn.Dropout(0.3)(x)
    assert abs((ours == 0).float().mean() - (ref == 0).float().mean()) < 0.005
    torch.testing.assert_close(ours.unique(), ref.unique())  # the same two values: 0 and 1/(1 - p)
    torch.testing.assert_close(ours.unique(), torch.tensor([0.0, 1 / 0.7]))


@pytest.mark.parametrize("p", [0.05, 0.1, 0.3])
def test_alpha_dropout_keeps_standard_normal_statistics_like_torch(p):
    torch.manual_seed(0)
    x = torch.randn(1000, 500, dtype=torch.float64)
    ours, ref = rt.AlphaDropout(p)(x), torch.nn.AlphaDropout(p)(x)
    for y in (ours, ref):
        assert abs(y.mean().item()) < 0.01 and abs(y.var().item() - 1) < 0.01
    rnp.manual_seed(0)
    y = rnp.AlphaDropout(p)(x.numpy())
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01


def test_standard_dropout_breaks_selu_statistics_and_alpha_dropout_keeps_them():
    x = np.random.default_rng(0).standard_normal((1000, 500))
    rnp.manual_seed(0)
    # inverted scaling inflates the variance to 1/(1-p)
    assert abs(rnp.Dropout(0.2)(x).var() - 1) > 0.2
    assert abs(rnp.AlphaDropout(0.2)(x).var() - 1) < 0.01


def test_gaussian_dropout_noise_has_the_stated_moments():
    rnp.manual_seed(0)
    layer = rnp.GaussianDropout(0.5)
    layer(np.ones((400, 500)))
    assert abs(layer.mask.mean() - 1) < 0.01 and abs(layer.mask.var() - 1.0) < 0.02  # p/(1-p) = 1


def test_selu_matches_torch():
    x = np.linspace(-5, 5, 101)
    np.testing.assert_allclose(
        rnp.SELU()(x), torch.selu(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-15
    )
    torch.testing.assert_close(rt.SELU()(torch.tensor(x)), torch.selu(torch.tensor(x)))
    assert rnp.check_module_gradients(rnp.SELU(), x.reshape(1, -1) + 0.05)["input"] < 1e-6


def test_mc_predict_varies_only_dropout_and_restores_modes():
    rnp.manual_seed(0)
    model = rnp.Sequential(
        rnp.Linear(4, 16), rnp.ReLU(), rnp.Dropout(0.5), rnp.Linear(16, 3)
    ).eval()
    x = np.random.default_rng(0).standard_normal((6, 4))
    mean, std = rnp.mc_predict(model, x, n_samples=30)
    assert mean.shape == std.shape == (6, 3)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0)
    assert (std > 0).any()
    assert not any(m.training for m in model.modules())
    mean2, _ = rnp.mc_predict(model, x, n_samples=30)
    np.testing.assert_array_equal(mean, mean2)  # seeded

    t_model = rt.Sequential(rt.Linear(4, 16), rt.ReLU(), rt.Dropout(0.5), rt.Linear(16, 3)).train()
    t_mean, t_std = rt.mc_predict(t_model, torch.randn(6, 4), n_samples=30)
    assert t_mean.shape == (6, 3) and (t_std > 0).any() and t_model.training


def test_torch_dropout_family_on_meta_device():
    x = torch.empty(4, 6, device="meta", requires_grad=True)
    for layer in [
        rt.Dropout(0.5),
        rt.Dropout(0.5, mode="vanilla"),
        rt.GaussianDropout(0.3),
        rt.AlphaDropout(0.1),
        rt.SELU(),
    ]:
        y = layer(x)
        y.sum().backward()
        assert y.device.type == "meta" and x.grad.device.type == "meta"
    model = rt.Sequential(
        rt.Linear(6, 5, device="meta"),
        rt.SELU(),
        rt.AlphaDropout(0.1),
        rt.Linear(5, 3, device="meta"),
    )
    mean, std = rt.mc_predict(model, torch.empty(4, 6, device="meta"), n_samples=3)
    assert mean.device.type == "meta"


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
@pytest.mark.parametrize("cls", ["Dropout", "GaussianDropout", "AlphaDropout"])
@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, "0.5"])
def test_bad_p_raises(module, cls, p):
    with pytest.raises(ValueError, match=r"probability of dropping a unit\) must lie in \[0, 1\)"):
        getattr(module, cls)(p)


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
def test_bad_mode_and_unfrozen_mask_raise(module):
    with pytest.raises(ValueError, match="mode must be one of"):
        module.Dropout(0.5, mode="keep")
    with pytest.raises(RuntimeError, match="needs a mask"):
        module.Dropout(0.5).freeze_mask()


def test_numpy_dropout_backward_before_forward_raises():
    with pytest.raises(RuntimeError, match="before forward"):
        rnp.Dropout(0.5).backward(np.ones((2, 2)))


def test_max_norm_constraint():
    w = np.array([[3.0, 4.0], [0.3, 0.4]])
    np.testing.assert_allclose(rnp.MaxNorm(1.0).project(w), [[0.6, 0.8], [0.3, 0.4]])
    torch.testing.assert_close(
        rt.MaxNorm(1.0).project(torch.tensor(w)),
        torch.tensor([[0.6, 0.8], [0.3, 0.4]], dtype=torch.float64),
    )
    with pytest.raises(ValueError, match="max_norm"):
        rnp.MaxNorm(0)
    with pytest.raises(ValueError, match="max_norm"):
        rt.MaxNorm(-1)


def test_fit_applies_max_norm_to_weights_only():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 5)) * 10, rng.integers(0, 3, 64)
    rnp.manual_seed(0)
    model = rnp.mlp([5, 16, 3])
    rnp.fit(
        model,
        rnp.CrossEntropyLoss(),
        rnp.SGD(model.parameters(), lr=0.5),
        (X, y),
        (X, y),
        5,
        16,
        constraint=rnp.MaxNorm(0.5),
    )
    for layer in (model[0], model[2]):
        assert np.linalg.norm(layer.weight.data, axis=1).max() <= 0.5 + 1e-12
    torch.manual_seed(0)
    t_model = rt.mlp([5, 16, 3])
    rt.fit(
        t_model,
        rt.CrossEntropyLoss(),
        rt.SGD(t_model.parameters(), lr=0.5),
        (X, y),
        (X, y),
        5,
        16,
        constraint=rt.MaxNorm(0.5),
    )
    assert t_model[0].weight.norm(dim=1).max().item() <= 0.5 + 1e-6


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
@pytest.mark.parametrize("cls", ["Dropout", "GaussianDropout", "AlphaDropout"])
def test_a_frozen_mask_of_another_shape_raises_instead_of_broadcasting(module, cls):
    layer = getattr(module, cls)(0.3)
    first = np.ones((4, 6)) if module is rnp else torch.ones(4, 6)
    layer(first)
    layer.freeze_mask()
    for shape in [(1, 6), (4, 1), (8, 6)]:  # (1, 6) and (4, 1) would broadcast silently
        x = np.ones(shape) if module is rnp else torch.ones(shape)
        with pytest.raises(ValueError, match=r"frozen mask has shape \(4, 6\)"):
            layer(x)
    assert layer(first).shape == (4, 6)


def test_the_torch_side_takes_its_constants_and_checks_from_neutral_modules():
    """Neither side imports the other: SELU's constants and the checks live in regcourse._*."""
    import ast
    import pathlib

    import regcourse
    import regcourse._constants as constants
    import regcourse.numpy.dropout as np_dropout
    import regcourse.torch.dropout as t_dropout

    root = pathlib.Path(regcourse.__file__).parent
    for side, other in (("torch", "regcourse.numpy"), ("numpy", "regcourse.torch")):
        for path in sorted((root / side).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                assert not any(n == other or n.startswith(other + ".") for n in names), path.name
    for module in (np_dropout, t_dropout):
        assert module.SELU_ALPHA is constants.SELU_ALPHA
        assert module.SELU_SCALE is constants.SELU_SCALE
    assert np_dropout.MODES == constants.DROPOUT_MODES


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5])
def test_alpha_dropout_coefficients_are_one_function_on_both_sides(p):
    from regcourse._constants import alpha_dropout_coefficients

    expected = alpha_dropout_coefficients(p)
    assert rnp.AlphaDropout(p).coefficients() == expected == rt.AlphaDropout(p).coefficients()
    a, b, saturation = expected
    q = 1.0 - p  # the output of a standard normal input keeps mean 0: A (q * 0 + a' p) + B = 0
    assert a * saturation * (1 - q) + b == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
def test_both_sides_draw_masks_through_current_mask_with_one_error_message(module):
    layer = module.Dropout(0.5)
    x = np.ones((3, 4)) if module is rnp else torch.ones(3, 4)
    layer(x)
    first = layer.mask
    layer.freeze_mask()
    assert (
        layer.current_mask(x, lambda _: pytest.fail("a frozen mask is not redrawn")) == first
    ).all()
    small = np.ones((1, 4)) if module is rnp else torch.ones(1, 4)
    with pytest.raises(
        ValueError,
        match=r"^Dropout: frozen mask has shape \(3, 4\), input has "
        r"\(1, 4\); a frozen mask must match the input",
    ):
        layer(small)
