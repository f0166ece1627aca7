"""The torch twins: against torch's built-ins, against the NumPy reference, on any device."""

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def to_torch_state(state):
    return {k: torch.tensor(v) for k, v in state.items()}


def twin_models(sizes=(6, 10, 10, 4), activation=("ReLU",)):
    rnp.manual_seed(0)
    np_model = rnp.mlp(list(sizes), activation=getattr(rnp, activation[0]))
    torch_model = rt.mlp(list(sizes), activation=getattr(rt, activation[0]), dtype=torch.float64)
    torch_model.load_state_dict(to_torch_state(np_model.state_dict()))
    return np_model, torch_model


# --- twins against torch.nn / torch.optim ------------------------------------------


def test_linear_matches_torch_nn_linear():
    ours = rt.Linear(5, 3, dtype=torch.float64)
    ref = torch.nn.Linear(5, 3, dtype=torch.float64)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(4, 5, dtype=torch.float64)
    torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=1e-14)


def test_linear_initialization_equals_torch_nn_linear():
    """Same seed, same draws: our init is torch.nn.Linear's U(-1/sqrt(in), 1/sqrt(in))."""
    torch.manual_seed(0)
    ours = rt.Linear(64, 128)
    torch.manual_seed(0)
    ref = torch.nn.Linear(64, 128)
    torch.testing.assert_close(ours.weight, ref.weight, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(ours.bias, ref.bias, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_matches_torch(smoothing):
    logits = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 5, (8,))
    ours = rt.CrossEntropyLoss(smoothing)(logits, target)
    (g_ours,) = torch.autograd.grad(ours, logits)
    ref = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)(logits, target)
    (g_ref,) = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_numpy_cross_entropy_matches_torch(smoothing):
    rng = np.random.default_rng(1)
    logits, target = rng.standard_normal((8, 5)), rng.integers(0, 5, 8)
    loss = rnp.CrossEntropyLoss(smoothing)
    value = loss(logits, target)
    t_logits = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(
        t_logits, torch.tensor(target), label_smoothing=smoothing
    )
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), t_logits.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_mse_matches_torch():
    pred, target = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    torch.testing.assert_close(rt.MSELoss()(pred, target), torch.nn.MSELoss()(pred, target))
    np_loss = rnp.MSELoss()
    assert np_loss(pred.numpy(), target.numpy()) == pytest.approx(
        torch.nn.MSELoss()(pred, target).item(), rel=1e-12
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lr=0.1),
        dict(lr=0.05, momentum=0.9),
        dict(lr=0.05, momentum=0.9, weight_decay=1e-2),
        dict(lr=0.05, momentum=0.9, nesterov=True),
    ],
    ids=["plain", "momentum", "momentum+decay", "nesterov"],
)
def test_sgd_trajectories_equal_torch_optim(kwargs):
    """Ours (NumPy and torch) and torch.optim.SGD, 25 steps on the same gradients."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    np_param = rnp.Parameter(w0)
    t_ours = torch.nn.Parameter(torch.tensor(w0))
    t_ref = torch.nn.Parameter(torch.tensor(w0))
    opts = [
        rnp.SGD([np_param], **kwargs),
        rt.SGD([t_ours], **kwargs),
        torch.optim.SGD([t_ref], **kwargs),
    ]
    for _ in range(25):
        grad = rng.standard_normal((3, 4))
        np_param.grad[...] = grad
        t_ours.grad = torch.tensor(grad)
        t_ref.grad = torch.tensor(grad)
        for opt in opts:
            opt.step()
    np.testing.assert_allclose(np_param.data, t_ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(t_ours.detach(), t_ref.detach(), rtol=1e-12, atol=1e-14)


# --- twins against the NumPy reference ----------------------------------------------


@pytest.mark.parametrize("activation", ["ReLU", "Tanh"])
def test_forward_and_gradients_match_numpy_reference(activation):
    np_model, torch_model = twin_models(activation=(activation,))
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((7, 6)), rng.integers(0, 4, 7)

    np_loss_fn = rnp.CrossEntropyLoss()
    np_loss = np_loss_fn(np_model(x), y)
    np_dx = np_model.backward(np_loss_fn.backward())

    tx = torch.tensor(x, requires_grad=True)
    t_loss = rt.CrossEntropyLoss()(torch_model(tx), torch.tensor(y))
    t_loss.backward()

    assert np_loss == pytest.approx(t_loss.item(), rel=1e-13)
    np.testing.assert_allclose(np_dx, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    for (name, p), (t_name, tp) in zip(np_model.named_parameters(), torch_model.named_parameters()):
        assert name == t_name
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)


def test_numpy_autograd_oracle_on_mse():
    """NumPy backward of an MLP under MSE equals torch autograd of the built-in layers."""
    rnp.manual_seed(1)
    model = rnp.mlp([3, 5, 2], activation=rnp.Tanh)
    ref = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
    ).double()
    ref.load_state_dict(to_torch_state(model.state_dict()))
    rng = np.random.default_rng(3)
    x, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    loss_fn = rnp.MSELoss()
    loss_fn(model(x), target)
    model.backward(loss_fn.backward())
    torch.nn.functional.mse_loss(ref(torch.tensor(x)), torch.tensor(target)).backward()
    for p, tp in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-10, atol=1e-14)


# --- any device ---------------------------------------------------------------------


@pytest.mark.parametrize("activation", [rt.ReLU, rt.Tanh])
def test_layers_run_forward_and_backward_on_meta_device(activation):
    """The meta device has no data: any tensor made on the CPU by accident fails loudly."""
    model = rt.mlp([6, 5, 3], activation=activation, device="meta")
    model.append(rt.Flatten())
    x = torch.empty(4, 6, device="meta", requires_grad=True)
    loss = rt.CrossEntropyLoss(label_smoothing=0.1)(
        model(x), torch.empty(4, dtype=torch.long, device="meta")
    )
    loss.backward()
    assert loss.device.type == "meta" and x.grad.device.type == "meta"
    assert all(p.grad is not None and p.grad.device.type == "meta" for p in model.parameters())
    mse = rt.MSELoss()(model(x), torch.empty(4, 3, device="meta"))
    assert mse.device.type == "meta"


def test_sgd_steps_on_meta_device():
    p = torch.nn.Parameter(torch.empty(3, 3, device="meta"))
    p.grad = torch.empty(3, 3, device="meta")
    opt = rt.SGD([p], lr=0.1, momentum=0.9, weight_decay=1e-3)
    opt.step()
    opt.step()
    assert p.device.type == "meta"


def test_default_device_respects_environment(monkeypatch):
    monkeypatch.setenv("REGCOURSE_DEVICE", "meta")
    assert rt.default_device() == torch.device("meta")
    monkeypatch.setenv("REGCOURSE_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="REGCOURSE_DEVICE"):
        rt.default_device()
    monkeypatch.delenv("REGCOURSE_DEVICE")
    assert rt.default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


@cuda
def test_fit_on_cuda_matches_cpu():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 6)), rng.integers(0, 3, 64)
    histories = []
    for device in ["cpu", "cuda"]:
        torch.manual_seed(0)
        model = rt.mlp([6, 16, 3], dtype=torch.float64).to(device)
        histories.append(
            rt.fit(
                model,
                rt.CrossEntropyLoss(),
                rt.SGD(model.parameters(), lr=0.1),
                (X, y),
                (X, y),
                epochs=5,
                batch_size=16,
            )
        )
    np.testing.assert_allclose(histories[0].train_loss, histories[1].train_loss, rtol=1e-9)


# --- bad input ---------------------------------------------------------------------


def test_torch_layers_reject_bad_input():
    with pytest.raises(ValueError, match="positive integer"):
        rt.Linear(0, 3)
    with pytest.raises(ValueError, match="expects input"):
        rt.Linear(4, 2)(torch.ones(3, 5))
    with pytest.raises(ValueError, match="shape"):
        rt.CrossEntropyLoss()(torch.zeros(2, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="same shape"):
        rt.MSELoss()(torch.zeros(4, 1), torch.zeros(4))
    with pytest.raises(ValueError, match="lr"):
        rt.SGD(rt.Linear(2, 2).parameters(), lr=-1)
    with pytest.raises(ValueError, match="label_smoothing"):
        rt.CrossEntropyLoss(label_smoothing=-0.1)


# --- class labels: never truncated, never out of range ------------------------------


@pytest.mark.parametrize(
    "target, match",
    [
        ([0.9, 1.7], "integer class indices"),
        ([0, 3], r"must lie in \[0, 2\], got range \[0, 3\]"),
        ([-1, 0], r"must lie in \[0, 2\], got range \[-1, 0\]"),
    ],
    ids=["float", "too-large", "negative"],
)
def test_cross_entropy_rejects_bad_labels_on_both_sides(target, match):
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match=match):
        rnp.CrossEntropyLoss()(logits, np.array(target))
    with pytest.raises(ValueError, match=match):
        rt.CrossEntropyLoss()(torch.zeros(2, 3), torch.tensor(target))


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_fit_rejects_non_integer_labels_instead_of_truncating_them(side):
    X = np.random.default_rng(0).standard_normal((10, 2))
    y = np.array([0.9, 1.7] * 5)
    model = side.mlp([2, 3])
    with pytest.raises(ValueError, match="integer class indices"):
        side.fit(
            model,
            side.CrossEntropyLoss(),
            side.SGD(model.parameters(), lr=0.1),
            (X, y),
            (X, y),
            epochs=1,
            batch_size=5,
        )


def test_torch_fit_rejects_non_integer_labels_for_torch_nn_loss_too():
    X = np.random.default_rng(0).standard_normal((10, 2))
    model = rt.mlp([2, 3])
    with pytest.raises(ValueError, match=r"non-integer values such as \[0.5"):
        rt.fit(
            model,
            torch.nn.CrossEntropyLoss(),
            rt.SGD(model.parameters(), lr=0.1),
            (X, np.array([0.5, 1.0] * 5)),
            (X, np.zeros(10)),
            epochs=1,
            batch_size=5,
        )


def test_torch_fit_still_accepts_whole_number_float_labels():
    X = np.random.default_rng(0).standard_normal((10, 2))
    y = np.array([0.0, 1.0] * 5)
    model = rt.mlp([2, 3])
    history = rt.fit(
        model,
        rt.CrossEntropyLoss(),
        rt.SGD(model.parameters(), lr=0.1),
        (X, y),
        (X, y),
        epochs=1,
        batch_size=5,
    )
    assert history.epochs == 1


def test_torch_linear_reset_parameters_restores_the_initial_weights_given_the_same_seed():
    torch.manual_seed(3)
    layer = rt.Linear(5, 4)
    initial = {name: value.clone() for name, value in layer.state_dict().items()}
    weight = layer.weight
    with torch.no_grad():
        layer.weight.add_(1.0)
    torch.manual_seed(3)
    layer.reset_parameters()
    for name, value in layer.state_dict().items():
        torch.testing.assert_close(value, initial[name], rtol=0, atol=0)
    assert layer.weight is weight
    layer.reset_parameters(torch.Generator().manual_seed(7))
    first = layer.weight.detach().clone()
    layer.reset_parameters(torch.Generator().manual_seed(7))
    torch.testing.assert_close(layer.weight.detach(), first, rtol=0, atol=0)


def test_torch_twins_print_as_torch_nn_and_as_the_numpy_side():
    rnp.manual_seed(0)
    np_model = rnp.Sequential(rnp.Linear(64, 10), rnp.ReLU(), rnp.Linear(10, 3, bias=False))
    t_model = rt.Sequential(rt.Linear(64, 10), rt.ReLU(), rt.Linear(10, 3, bias=False))
    nn_model = torch.nn.Sequential(
        torch.nn.Linear(64, 10), torch.nn.ReLU(), torch.nn.Linear(10, 3, bias=False)
    )
    assert repr(np_model) == repr(t_model) == repr(nn_model)
    for np_layer, t_layer in [
        (rnp.Flatten(), rt.Flatten()),
        (rnp.Unflatten(1, (2, 3)), rt.Unflatten(1, (2, 3))),
        (rnp.GlobalAvgPool(), rt.GlobalAvgPool()),
        (rnp.SELU(), rt.SELU()),
        (rnp.Dropout(0.3), rt.Dropout(0.3)),
        (rnp.Dropout(0.3, mode="vanilla"), rt.Dropout(0.3, mode="vanilla")),
        (rnp.GaussianDropout(0.2), rt.GaussianDropout(0.2)),
        (rnp.AlphaDropout(0.1), rt.AlphaDropout(0.1)),
        (rnp.GaussianNoise(0.5), rt.GaussianNoise(0.5)),
        (rnp.CrossEntropyLoss(0.1), rt.CrossEntropyLoss(0.1)),
        (rnp.MSELoss(), rt.MSELoss()),
    ]:
        assert repr(np_layer) == repr(t_layer)


def test_both_sides_have_reset_parameters_on_every_layer_with_parameters():
    layers = [
        ("Linear", (3, 2)),
        ("Conv1d", (2, 3, 3)),
        ("Conv2d", (2, 3, 3)),
        ("BatchNorm1d", (4,)),
        ("BatchNorm2d", (4,)),
        ("LayerNorm", (4,)),
    ]
    for name, args in layers:
        for side in (rnp, rt):
            assert callable(getattr(side, name)(*args).reset_parameters), (side, name)


def test_flatten_uses_one_shape_rule_on_both_sides():
    from regcourse._shapes import flat_shape

    assert flat_shape((0, 2, 3)) == (0, 6) and flat_shape((4,)) == (4, 1)
    for x in (np.zeros((0, 2, 3)), np.zeros((4,))):
        assert rnp.Flatten()(x).shape == tuple(rt.Flatten()(torch.tensor(x)).shape)
