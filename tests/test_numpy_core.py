"""The NumPy reference: gradient checks for every layer and loss, optimizers, modes, errors."""

import re

import numpy as np
import pytest

import regcourse.numpy as rnp

TOL = 1e-6  # relative error of a correct float64 backward against central differences


@pytest.mark.parametrize(
    "make_layer, shape",
    [
        (lambda: rnp.Linear(5, 3), (4, 5)),
        (lambda: rnp.Linear(5, 3, bias=False), (4, 5)),
        (lambda: rnp.ReLU(), (4, 6)),
        (lambda: rnp.Tanh(), (4, 6)),
        (lambda: rnp.Flatten(), (3, 2, 4)),
        (lambda: rnp.mlp([5, 8, 8, 3]), (6, 5)),
        (lambda: rnp.mlp([5, 8, 3], activation=rnp.Tanh), (6, 5)),
    ],
    ids=["linear", "linear-nobias", "relu", "tanh", "flatten", "mlp-relu", "mlp-tanh"],
)
def test_layer_gradients_match_central_differences(make_layer, shape, rng):
    rnp.manual_seed(0)
    layer = make_layer()
    x = rng.standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.1  # keep away from relu's kink, where the derivative is undefined
    errors = rnp.check_module_gradients(layer, x)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_cross_entropy_gradient(smoothing, rng):
    logits = rng.standard_normal((7, 4)) * 3
    target = rng.integers(0, 4, size=7)
    assert rnp.check_loss_gradient(rnp.CrossEntropyLoss(smoothing), logits, target) < TOL


def test_mse_gradient(rng):
    pred, target = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    assert rnp.check_loss_gradient(rnp.MSELoss(), pred, target) < TOL


def test_gradient_check_detects_a_wrong_backward(rng):
    """The checker must fail a broken layer, or the tests above prove nothing."""

    class WrongTanh(rnp.Tanh):
        def backward(self, dout):
            return dout * (1.0 - self._y)  # forgot the square

    assert rnp.check_module_gradients(WrongTanh(), rng.standard_normal((3, 4)))["input"] > 1e-2


def test_cross_entropy_is_stable_for_huge_logits():
    loss = rnp.CrossEntropyLoss()
    value = loss(np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([0, 0]))
    assert np.isfinite(value) and value == pytest.approx(500.0)
    assert np.all(np.isfinite(loss.backward()))


def test_backward_accumulates_into_grad(rng):
    layer = rnp.Linear(3, 2)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy()
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert not layer.weight.grad.any()


def test_parameters_and_state_dict_names_follow_torch():
    model = rnp.mlp([4, 3, 2])
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model[0].weight.shape == (3, 4) and model[0].bias.shape == (3,)
    assert len(model.parameters()) == 4 and len(model) == 3


def test_load_state_dict_roundtrip_and_errors():
    a, b = rnp.mlp([4, 3, 2]), rnp.mlp([4, 3, 2])
    b.load_state_dict(a.state_dict())
    x = np.ones((2, 4))
    np.testing.assert_array_equal(a(x), b(x))
    with pytest.raises(ValueError, match="missing"):
        b.load_state_dict({"0.weight": np.zeros((3, 4))})
    bad = a.state_dict()
    bad["0.weight"] = np.zeros((4, 3))
    with pytest.raises(ValueError, match="shape mismatch"):
        b.load_state_dict(bad)


def test_train_and_eval_reach_every_layer():
    model = rnp.mlp([4, 3, 2])
    assert model.eval() is model
    assert not any(layer.training for layer in model.layers)
    assert model.train() is model
    assert all(layer.training for layer in model.layers)


def test_manual_seed_makes_initialization_repeatable():
    rnp.manual_seed(3)
    a = rnp.Linear(5, 4).weight.data
    rnp.manual_seed(3)
    np.testing.assert_array_equal(a, rnp.Linear(5, 4).weight.data)


def test_linear_initialization_range_matches_torch():
    rnp.manual_seed(0)
    w = rnp.Linear(100, 50).weight.data
    assert np.abs(w).max() <= 0.1 and np.abs(w).max() > 0.09  # U(-1/sqrt(in), 1/sqrt(in))


def test_sgd_step_by_hand():
    p = rnp.Parameter([1.0, -2.0])
    opt = rnp.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    p.grad[...] = [1.0, 1.0]
    opt.step()  # g = grad + 0.5 w = [1.5, 0]; buffer = g
    np.testing.assert_allclose(p.data, [0.85, -2.0])
    p.grad[...] = [1.0, 1.0]
    opt.step()  # g = [1.425, 0.0]; buffer = 0.9 [1.5, 0] + g = [2.775, 0]
    np.testing.assert_allclose(p.data, [0.85 - 0.2775, -2.0])


# --- bad input gets a clear error -------------------------------------------------


@pytest.mark.parametrize("args", [(0, 3), (3, 0), (-1, 2), (2.5, 3), (True, 3)])
def test_linear_rejects_bad_sizes(args):
    with pytest.raises(ValueError, match="positive integer"):
        rnp.Linear(*args)


def test_linear_rejects_wrong_input_shape():
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, 4\)"):
        rnp.Linear(4, 2)(np.ones((3, 5)))
    with pytest.raises(ValueError, match="expects input"):
        rnp.Linear(4, 2)(np.ones(4))


@pytest.mark.parametrize(
    "layer", [rnp.Linear(2, 2), rnp.ReLU(), rnp.Tanh(), rnp.Flatten(), rnp.mlp([2, 2, 2])]
)
def test_backward_before_forward_raises(layer):
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((1, 2)))


@pytest.mark.parametrize("loss", [rnp.CrossEntropyLoss(), rnp.MSELoss()])
def test_loss_backward_before_forward_raises(loss):
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()


def test_cross_entropy_rejects_bad_targets():
    loss = rnp.CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\]"):
        loss(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="integer class indices"):
        loss(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        loss(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="empty"):
        loss(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="label_smoothing"):
        rnp.CrossEntropyLoss(label_smoothing=1.5)


def test_mse_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        rnp.MSELoss()(np.zeros((4, 1)), np.zeros(4))


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"lr": -0.1}, "lr"),
        ({"lr": 0.1, "momentum": -1}, "momentum"),
        ({"lr": 0.1, "weight_decay": -1e-3}, "weight_decay"),
    ],
)
def test_sgd_rejects_negative_hyperparameters(kwargs, word):
    with pytest.raises(ValueError, match=word):
        rnp.SGD(rnp.Linear(2, 2).parameters(), **kwargs)


def test_optimizer_rejects_empty_parameters():
    with pytest.raises(ValueError, match="empty parameter list"):
        rnp.SGD([], lr=0.1)


def test_sequential_rejects_non_modules():
    with pytest.raises(ValueError, match="Module instances"):
        rnp.Sequential(rnp.Linear(2, 2), lambda x: x)


def test_mlp_needs_two_sizes():
    with pytest.raises(ValueError, match="at least"):
        rnp.mlp([4])


def test_softmax_rows_sum_to_one_and_match_torch():
    import torch

    logits = np.random.default_rng(0).standard_normal((4, 5)) * 10
    p = rnp.softmax(logits)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p, torch.softmax(torch.tensor(logits), dim=1).numpy(), rtol=1e-12)


def test_optimizers_combine_zero_grad_and_step():
    a, b = rnp.Parameter([1.0]), rnp.Parameter([1.0])
    both = rnp.Optimizers(rnp.SGD([a], lr=0.1), rnp.SGD([b], lr=0.5))
    a.grad[...], b.grad[...] = 1.0, 1.0
    both.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5])
    both.zero_grad()
    assert a.grad[0] == 0 and b.grad[0] == 0
    with pytest.raises(ValueError, match="at least one"):
        rnp.Optimizers()


def test_limit_threads():
    import torch
    from threadpoolctl import threadpool_info

    import regcourse

    before = torch.get_num_threads()
    regcourse.limit_threads(1)
    assert torch.get_num_threads() == 1
    assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    torch.set_num_threads(before)
    with pytest.raises(ValueError, match="positive integer"):
        regcourse.limit_threads(0)


def test_sequential_slice_is_a_sequential_sharing_layers():
    model = rnp.mlp([4, 3, 3, 2])
    head = model[:2]
    assert isinstance(head, rnp.Sequential) and len(head) == 2 and head[0] is model[0]
    x = np.ones((2, 4))
    np.testing.assert_array_equal(head(x), model[1](model[0](x)))


# --- one layer object, one place: reuse is refused, parameters listed once ----------


def test_sequential_refuses_the_same_layer_twice():
    layer = rnp.Linear(3, 3)
    message = r"same Linear instance twice.*one cache per layer.*torch side for weight tying"
    with pytest.raises(ValueError, match=message):
        rnp.Sequential(layer, rnp.ReLU(), layer)
    relu = rnp.ReLU()  # a shared activation would overwrite its mask too
    with pytest.raises(ValueError, match="same ReLU instance twice"):
        rnp.Sequential(rnp.Linear(3, 3), relu, rnp.Linear(3, 3), relu)
    with pytest.raises(ValueError, match="same Linear instance twice"):
        rnp.Sequential(rnp.Sequential(layer), layer)  # also when nested


class Tied(rnp.Module):
    """A custom module using one Linear twice: what Sequential cannot catch, fit does."""

    def __init__(self):
        self.first = rnp.Linear(4, 4)
        self.second = self.first

    def forward(self, x):
        return self.second(self.first(x))


def test_parameters_and_modules_list_a_shared_object_once():
    model = Tied()
    assert len(model.parameters()) == 2  # weight and bias, not four
    assert [name for name, _ in model.named_parameters()] == ["first.weight", "first.bias"]
    assert len(list(model.modules())) == 2
    assert set(model.state_dict()) == {
        "first.weight",
        "first.bias",
        "second.weight",
        "second.bias",
    }  # as torch's state_dict


def test_fit_refuses_a_model_with_a_shared_layer():
    model = Tied()
    X, y = np.ones((4, 4)), np.zeros(4, dtype=int)
    with pytest.raises(ValueError, match="same Linear instance twice"):
        rnp.fit(
            model,
            rnp.CrossEntropyLoss(),
            rnp.SGD(model.parameters(), lr=0.1),
            (X, y),
            (X, y),
            epochs=1,
            batch_size=2,
        )


def test_optimizer_refuses_a_parameter_listed_twice():
    w = rnp.Linear(2, 2).weight
    with pytest.raises(ValueError, match="same Parameter more than once"):
        rnp.SGD([w, w], lr=0.1)


def test_torch_parameters_list_a_tied_weight_once():
    import torch

    import regcourse.torch as rt

    layer = rt.Linear(3, 3)
    model = rt.Sequential(layer, rt.ReLU(), layer)  # weight tying is fine with autograd
    assert len(list(model.parameters())) == 2
    model(torch.ones(2, 3)).sum().backward()
    assert layer.weight.grad is not None


# --- backward checks the shape of the upstream gradient -----------------------------


@pytest.mark.parametrize(
    "make_layer, shape",
    [
        (lambda: rnp.Linear(5, 3), (4, 5)),
        (lambda: rnp.ReLU(), (4, 6)),
        (lambda: rnp.Tanh(), (4, 6)),
        (lambda: rnp.Flatten(), (3, 2, 4)),
        (lambda: rnp.Unflatten(1, (2, 3)), (4, 6)),
        (lambda: rnp.mlp([5, 8, 3]), (4, 5)),
        (lambda: rnp.Dropout(0.5), (4, 6)),
        (lambda: rnp.Dropout(0.5).eval(), (4, 6)),
        (lambda: rnp.GaussianDropout(0.3), (4, 6)),
        (lambda: rnp.AlphaDropout(0.3), (4, 6)),
        (lambda: rnp.SELU(), (4, 6)),
        (lambda: rnp.GaussianNoise(0.1), (4, 6)),
        (lambda: rnp.BatchNorm1d(6), (4, 6)),
        (lambda: rnp.BatchNorm1d(6).eval(), (4, 6)),
        (lambda: rnp.BatchNorm2d(2), (4, 2, 3, 3)),
        (lambda: rnp.LayerNorm(6), (4, 6)),
        (lambda: rnp.Conv1d(2, 3, 3), (4, 2, 8)),
        (lambda: rnp.MaxPool1d(2), (4, 2, 8)),
        (lambda: rnp.GlobalAvgPool(), (4, 2, 8)),
    ],
    ids=[
        "linear",
        "relu",
        "tanh",
        "flatten",
        "unflatten",
        "mlp",
        "dropout",
        "dropout-eval",
        "gaussian-dropout",
        "alpha-dropout",
        "selu",
        "gaussian-noise",
        "batchnorm1d",
        "batchnorm1d-eval",
        "batchnorm2d",
        "layernorm",
        "conv1d",
        "maxpool1d",
        "globalavgpool",
    ],
)
def test_backward_refuses_an_upstream_gradient_of_the_wrong_shape(make_layer, shape, rng):
    rnp.manual_seed(0)
    layer = make_layer()
    out = layer(rng.standard_normal(shape))
    message = "backward expects dout of the forward output's shape " + re.escape(str(out.shape))
    for wrong in [out.shape[:-1] + (1,), (1,) + out.shape[1:], out.shape[1:], ()]:
        with pytest.raises(ValueError, match=message):
            layer.backward(np.ones(wrong))
    assert layer.backward(np.ones(out.shape)).shape == shape  # the right shape still works


@pytest.mark.parametrize(
    "loss, pred, target",
    [
        (rnp.CrossEntropyLoss(), np.zeros((3, 4)), np.array([0, 1, 2])),
        (rnp.MSELoss(), np.zeros((3, 1)), np.ones((3, 1))),
    ],
    ids=["cross-entropy", "mse"],
)
def test_loss_backward_refuses_a_non_scalar_dout(loss, pred, target):
    loss(pred, target)
    with pytest.raises(ValueError, match="expects a scalar dout"):
        loss.backward(np.ones(3))
    assert loss.backward(2.0).shape == pred.shape


# --- Flatten of an empty batch, as torch.nn.Flatten ---------------------------------


@pytest.mark.parametrize("shape", [(0, 3, 4), (0, 5), (0, 2, 0), (2, 3, 4)])
def test_flatten_of_an_empty_batch_matches_torch_nn_flatten(shape):
    import torch

    import regcourse.torch as rt

    expected = tuple(torch.nn.Flatten()(torch.zeros(shape)).shape)
    layer = rnp.Flatten()
    out = layer(np.zeros(shape))
    assert out.shape == expected
    assert layer.backward(np.zeros(expected)).shape == shape
    assert tuple(rt.Flatten()(torch.zeros(shape)).shape) == expected


@pytest.mark.parametrize(
    "dim, sizes, shape", [(1, (2, 3), (0, 6)), (1, (-1, 3), (0, 6)), (0, (2, -1), (0, 6))]
)
def test_unflatten_of_an_empty_batch_matches_torch_nn_unflatten(dim, sizes, shape):
    import torch

    import regcourse.torch as rt

    expected = tuple(torch.nn.Unflatten(dim, sizes)(torch.zeros(shape)).shape)
    assert rnp.Unflatten(dim, sizes)(np.zeros(shape)).shape == expected
    assert tuple(rt.Unflatten(dim, sizes)(torch.zeros(shape)).shape) == expected


def test_mlp_with_flatten_predicts_an_empty_batch():
    model = rnp.Sequential(rnp.Flatten(), rnp.Linear(6, 2))
    assert rnp.predict(model, np.zeros((0, 2, 3))).shape == (0, 2)


def test_reset_parameters_restores_the_initial_weights_given_the_same_seed():
    rnp.manual_seed(3)
    layer = rnp.Linear(5, 4)
    weight, bias = layer.weight, layer.bias
    initial = {name: value.copy() for name, value in layer.state_dict().items()}
    for p in layer.parameters():
        p.data += 1.0
    rnp.manual_seed(3)
    layer.reset_parameters()
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, initial[name])
    assert layer.weight is weight and layer.bias is bias  # in place: optimizers keep them
    bound = 1 / np.sqrt(5)
    assert np.abs(layer.weight.data).max() <= bound


def test_reset_parameters_takes_a_generator_or_a_seed():
    layer = rnp.Linear(3, 2, bias=False)
    layer.reset_parameters(7)
    from_seed = layer.weight.data.copy()
    layer.reset_parameters(np.random.default_rng(7))
    np.testing.assert_array_equal(layer.weight.data, from_seed)
    layer.reset_parameters(8)
    assert not np.array_equal(layer.weight.data, from_seed)
    with pytest.raises(ValueError, match="generator must be None, an int seed"):
        layer.reset_parameters("seven")


def test_an_mlp_rebuilt_from_the_same_seed_equals_one_reset_layer_by_layer():
    """The constructor draws through reset_parameters, so the old seeded models are unchanged."""
    rnp.manual_seed(0)
    model = rnp.mlp([4, 6, 3])
    rnp.manual_seed(0)
    for layer in model.layers:
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    rnp.manual_seed(0)
    fresh = rnp.mlp([4, 6, 3])
    for name, value in fresh.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], value)


def test_repr_is_torch_nn_repr_for_the_same_model():
    import torch

    rnp.manual_seed(0)
    ours = rnp.Sequential(
        rnp.Linear(64, 10),
        rnp.ReLU(),
        rnp.Tanh(),
        rnp.Linear(10, 3, bias=False),
        rnp.Sequential(rnp.Unflatten(1, (1, 3))),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(64, 10),
        torch.nn.ReLU(),
        torch.nn.Tanh(),
        torch.nn.Linear(10, 3, bias=False),
        torch.nn.Sequential(torch.nn.Unflatten(1, (1, 3))),
    )
    assert repr(ours) == repr(theirs)
    assert repr(rnp.Linear(64, 10)) == "Linear(in_features=64, out_features=10, bias=True)"
    assert repr(rnp.Sequential()) == repr(torch.nn.Sequential()) == "Sequential()"
    assert repr(rnp.SELU()) == repr(torch.nn.SELU()) == "SELU()"
    assert repr(rnp.MSELoss()) == repr(torch.nn.MSELoss()) == "MSELoss()"


def test_a_module_without_settings_prints_its_name_and_children():
    class Block(rnp.Module):
        def __init__(self):
            self.inner = rnp.Linear(2, 2)

    assert repr(Block()) == (
        "Block(\n  (inner): Linear(in_features=2, out_features=2, bias=True)\n)"
    )

    class Empty(rnp.Module):
        pass

    assert repr(Empty()) == "Empty()"
