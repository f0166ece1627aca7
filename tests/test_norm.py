"""Batch norm and layer norm: gradient checks, parity with torch.nn in train and eval, devices,
errors."""

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt

BN_CASES = [("BatchNorm1d", (8, 5)), ("BatchNorm1d", (6, 5, 4)), ("BatchNorm2d", (4, 5, 3, 3))]
BN_IDS = ["1d", "1d-seq", "2d"]


def random_affine(layer, rng):
    layer.weight.data[...] = rng.standard_normal(layer.weight.shape)
    layer.bias.data[...] = rng.standard_normal(layer.bias.shape)
    return layer


@pytest.mark.parametrize("cls, shape", BN_CASES, ids=BN_IDS)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm_gradient_check(cls, shape, training):
    rng = np.random.default_rng(0)
    layer = random_affine(getattr(rnp, cls)(5), rng)
    layer.running_mean[...] = rng.standard_normal(5)
    layer.running_var[...] = rng.uniform(0.5, 2, 5)
    layer.train(training)
    errors = rnp.check_module_gradients(layer, 2 * rng.standard_normal(shape) + 1)
    # elementwise relative error; tiny entries make it ~1e-7
    assert max(errors.values()) < 1e-5, errors


@pytest.mark.parametrize(
    "normalized_shape, shape",
    [(6, (4, 6)), (6, (3, 2, 6)), ((3, 4), (2, 3, 4))],
    ids=["2d", "seq", "two-dims"],
)
def test_layernorm_gradient_check(normalized_shape, shape):
    rng = np.random.default_rng(1)
    layer = random_affine(rnp.LayerNorm(normalized_shape), rng)
    assert max(rnp.check_module_gradients(layer, rng.standard_normal(shape)).values()) < 1e-5


@pytest.mark.parametrize("cls, shape", BN_CASES, ids=BN_IDS)
@pytest.mark.parametrize("momentum", [0.1, 0.5, None], ids=["m0.1", "m0.5", "cumulative"])
def test_batchnorm_matches_torch_nn_over_several_steps(cls, shape, momentum):
    """Outputs, input and parameter gradients, running statistics: NumPy, our torch, torch.nn."""
    rng = np.random.default_rng(0)
    ours_np = random_affine(getattr(rnp, cls)(5, momentum=momentum), rng)
    ours_t = getattr(rt, cls)(5, momentum=momentum, dtype=torch.float64)
    ref = getattr(torch.nn, cls)(5, momentum=momentum, dtype=torch.float64)
    state = {k: torch.tensor(v) for k, v in ours_np.state_dict().items()}
    ours_t.load_state_dict(state)
    ref.load_state_dict(state)
    for step in range(4):
        x = 3 * rng.standard_normal(shape) + 2
        dy = rng.standard_normal(shape)
        ours_np.zero_grad()
        y_np = ours_np(x)
        dx_np = ours_np.backward(dy)
        for module in (ours_t, ref):
            module.zero_grad()
            tx = torch.tensor(x, requires_grad=True)
            y = module(tx)
            y.backward(torch.tensor(dy))
            np.testing.assert_allclose(y.detach().numpy(), y_np, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(tx.grad.numpy(), dx_np, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(module.weight.grad.numpy(), ours_np.weight.grad, rtol=1e-10)
            np.testing.assert_allclose(module.bias.grad.numpy(), ours_np.bias.grad, rtol=1e-10)
            np.testing.assert_allclose(
                module.running_mean.numpy(), ours_np.running_mean, rtol=1e-12
            )
            np.testing.assert_allclose(module.running_var.numpy(), ours_np.running_var, rtol=1e-12)
            assert int(module.num_batches_tracked) == int(ours_np.num_batches_tracked) == step + 1
    x = rng.standard_normal(shape)
    y_np = ours_np.eval()(x)
    for module in (ours_t.eval(), ref.eval()):
        np.testing.assert_allclose(
            module(torch.tensor(x)).detach().numpy(), y_np, rtol=1e-10, atol=1e-12
        )


def test_batchnorm_conventions_by_hand():
    """running_var starts at 1, momentum weights the NEW value, running var is unbiased."""
    layer = rnp.BatchNorm1d(1, momentum=0.1)
    assert layer.running_mean[0] == 0.0 and layer.running_var[0] == 1.0
    x = np.array([[1.0], [3.0]])  # mean 2, biased var 1, unbiased var 2
    layer(x)
    assert layer.running_mean[0] == pytest.approx(0.9 * 0 + 0.1 * 2)
    assert layer.running_var[0] == pytest.approx(0.9 * 1 + 0.1 * 2)
    np.testing.assert_allclose(layer.eval()(x), (x - 0.2) / np.sqrt(1.1 + 1e-5))


def test_batchnorm_keeps_its_parameters_between_calls():
    """A classic hand-written bug resets gamma/beta on every call; ours learns."""
    layer = rnp.BatchNorm1d(3)
    layer.weight.data[...] = [2.0, 3.0, 4.0]
    layer(np.random.default_rng(0).standard_normal((5, 3)))
    np.testing.assert_array_equal(layer.weight.data, [2.0, 3.0, 4.0])


def test_batchnorm_without_running_stats_or_affine_matches_torch():
    x = np.random.default_rng(0).standard_normal((6, 4))
    ours = rnp.BatchNorm1d(4, affine=False, track_running_stats=False).eval()
    ref = torch.nn.BatchNorm1d(
        4, affine=False, track_running_stats=False, dtype=torch.float64
    ).eval()
    np.testing.assert_allclose(ours(x), ref(torch.tensor(x)).numpy(), rtol=1e-10, atol=1e-12)
    assert ours.state_dict() == {}


@pytest.mark.parametrize(
    "normalized_shape, shape",
    [(6, (4, 6)), ((3, 4), (2, 5, 3, 4))],
    ids=["vector", "two-dims"],
)
def test_layernorm_matches_torch_nn(normalized_shape, shape):
    rng = np.random.default_rng(0)
    ours_np = random_affine(rnp.LayerNorm(normalized_shape), rng)
    state = {k: torch.tensor(v) for k, v in ours_np.state_dict().items()}
    ours_t, ref = (
        rt.LayerNorm(normalized_shape, dtype=torch.float64),
        torch.nn.LayerNorm(normalized_shape, dtype=torch.float64),
    )
    ours_t.load_state_dict(state)
    ref.load_state_dict(state)
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    y_np = ours_np(x)
    dx_np = ours_np.backward(dy)
    for module in (ours_t, ref):
        tx = torch.tensor(x, requires_grad=True)
        y = module(tx)
        y.backward(torch.tensor(dy))
        np.testing.assert_allclose(y.detach().numpy(), y_np, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(tx.grad.numpy(), dx_np, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(module.weight.grad.numpy(), ours_np.weight.grad, rtol=1e-10)


def test_layernorm_is_independent_of_the_batch_and_of_the_mode():
    rng = np.random.default_rng(0)
    layer = rnp.LayerNorm(8)
    batch = rng.standard_normal((64, 8))
    np.testing.assert_allclose(layer(batch[:1]), layer(batch)[:1], rtol=1e-14)
    np.testing.assert_array_equal(layer.eval()(batch), layer.train()(batch))


@pytest.mark.parametrize("cls, shape", [("BatchNorm1d", (4, 6)), ("BatchNorm2d", (2, 6, 3, 3))])
def test_torch_norm_layers_on_meta_device(cls, shape):
    layer = getattr(rt, cls)(6, device="meta")
    x = torch.empty(shape, device="meta", requires_grad=True)
    layer(x).sum().backward()
    assert x.grad.device.type == "meta" and layer.running_var.device.type == "meta"
    layer.eval()
    assert layer(x).device.type == "meta"
    ln = rt.LayerNorm(shape[1:], device="meta")
    ln(x).sum().backward()
    assert ln.weight.grad.device.type == "meta"


# --- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
def test_batch_of_one_in_training_raises(module):
    layer = module.BatchNorm1d(3)
    x = np.ones((1, 3)) if module is rnp else torch.ones(1, 3)
    with pytest.raises(ValueError, match="more than one value per feature"):
        layer(x)
    layer.eval()
    layer(x)  # evaluation uses the running statistics: fine


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
def test_wrong_feature_count_and_rank_raise(module):
    make = (lambda *s: np.ones(s)) if module is rnp else (lambda *s: torch.ones(*s))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\) got 4 features"):
        module.BatchNorm1d(3)(make(5, 4))
    with pytest.raises(ValueError, match="expects input with 2 or 3 dimensions"):
        module.BatchNorm1d(3)(make(5))
    with pytest.raises(ValueError, match="expects input with 4 dimensions"):
        module.BatchNorm2d(3)(make(5, 3))
    with pytest.raises(ValueError, match="LayerNorm"):
        module.LayerNorm(4)(make(5, 3))
    with pytest.raises(ValueError, match="num_features"):
        module.BatchNorm1d(0)
    with pytest.raises(ValueError, match="momentum"):
        module.BatchNorm1d(3, momentum=1.5)


def test_numpy_norm_backward_before_forward_raises():
    for layer in (rnp.BatchNorm1d(2), rnp.LayerNorm(2)):
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.ones((2, 2)))


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
@pytest.mark.parametrize("name, shape", BN_CASES, ids=BN_IDS)
def test_batch_norm_reset_parameters_restores_the_initial_state(side, name, shape):
    def as_array(value):
        return value.numpy() if torch.is_tensor(value) else np.asarray(value)

    layer = getattr(side, name)(5)
    initial = {k: as_array(v).copy() for k, v in layer.state_dict().items()}
    x = np.random.default_rng(0).standard_normal(shape)
    x = x if side is rnp else torch.tensor(x, dtype=torch.float32)
    layer(x)  # moves the running statistics
    weight = layer.weight
    if side is rnp:
        layer.weight.data += 1.0
    else:
        with torch.no_grad():
            layer.weight.add_(1.0)
    assert int(layer.num_batches_tracked) == 1
    layer.reset_parameters()
    assert layer.weight is weight
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(as_array(value), initial[key])
    layer(x)
    layer.reset_running_stats()
    assert int(layer.num_batches_tracked) == 0 and float(layer.running_var.sum()) == 5.0


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_layer_norm_reset_parameters_sets_gamma_one_and_beta_zero(side):
    layer = side.LayerNorm((2, 3))
    if side is rnp:
        layer.weight.data[...] = 3.0
        layer.bias.data[...] = 3.0
    else:
        with torch.no_grad():
            layer.weight.fill_(3.0)
            layer.bias.fill_(3.0)
    layer.reset_parameters()
    values = [p.data if side is rnp else p.detach().numpy() for p in (layer.weight, layer.bias)]
    assert values[0].sum() == 6.0 and values[1].sum() == 0.0


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("BatchNorm1d", (32,), {}),
        ("BatchNorm2d", (8,), dict(eps=1e-3, momentum=None, affine=False)),
        ("BatchNorm1d", (4,), dict(track_running_stats=False)),
        ("LayerNorm", (64,), {}),
        ("LayerNorm", ((3, 4),), dict(eps=1e-6, elementwise_affine=False)),
    ],
)
def test_norm_repr_is_torch_nn_repr_on_both_sides(name, args, kwargs):
    """As torch.nn prints them, but for the ``bias=`` newer torch versions add (an argument
    of torch.nn's norms, in torch >= 2.1, that the twins do not take)."""
    import re

    expected = re.sub(r", bias=(True|False)", "", repr(getattr(torch.nn, name)(*args, **kwargs)))
    assert repr(getattr(rnp, name)(*args, **kwargs)) == expected
    assert repr(getattr(rt, name)(*args, **kwargs)) == expected


def test_both_sides_decompose_batch_norm_with_the_same_method_names():
    x_np, x_t = np.zeros((4, 5, 3)), torch.zeros(4, 5, 3)
    for side, x in ((rnp, x_np), (rt, x_t)):
        layer = side.BatchNorm1d(5)
        assert tuple(layer.stat_axes(x)) == (0, 2) and list(layer.param_shape(x)) == [1, 5, 1]
        assert tuple(side.BatchNorm2d(5).stat_axes(np.zeros((2, 5, 3, 3)))) == (0, 2, 3)
        for method in (
            "check_input",
            "update_running_stats",
            "reset_running_stats",
            "reset_parameters",
        ):
            assert callable(getattr(layer, method))
    for side, x in ((rnp, np.zeros((4, 6))), (rt, torch.zeros(4, 6))):
        with pytest.raises(
            ValueError,
            match=r"^BatchNorm1d\(5\) got 6 features \(input shape "
            r"\(4, 6\)\)$",
        ):
            side.BatchNorm1d(5)(x)
        with pytest.raises(ValueError, match="normalized_shape must name at least one"):
            side.LayerNorm(())
