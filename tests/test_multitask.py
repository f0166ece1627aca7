"""Multitask learning: a shared trunk with one head per task and a weighted sum of task losses.

NumPy gradients by finite differences, the torch twin against autograd and against the
NumPy side (float64), fit_multitask twins step for step, missing labels, bad input, and
the meta device.
"""

import math

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt
from regcourse.numpy.gradcheck import numerical_gradient, relative_error

TASKS = ("digit", "size")


def data(seed=0, n=24, d=5):
    """Inputs, a 3-class target, a 2-d real target and a mask labelling about half."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y_class = rng.integers(0, 3, n)
    y_real = rng.standard_normal((n, 2))
    mask = rng.random(n) < 0.5
    mask[:2] = True
    return X, {"digit": y_class, "size": y_real}, {"digit": mask}


def numpy_model(seed=0, d=5, hidden=6):
    rnp.manual_seed(seed)
    trunk = rnp.Sequential(rnp.Linear(d, hidden), rnp.Tanh())
    return rnp.MultiTaskModel(
        trunk, {"digit": rnp.Linear(hidden, 3), "size": rnp.Linear(hidden, 2)}
    )


def torch_twin(np_model, d=5, hidden=6, device=None):
    trunk = rt.Sequential(rt.Linear(d, hidden, device=device), rt.Tanh())
    heads = {
        "digit": rt.Linear(hidden, 3, device=device),
        "size": rt.Linear(hidden, 2, device=device),
    }
    model = rt.MultiTaskModel(trunk, heads).double()
    if np_model is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in np_model.state_dict().items()})
    return model


def numpy_losses(weights=(1.0, 0.5)):
    return rnp.MultiTaskLoss({"digit": rnp.CrossEntropyLoss(), "size": rnp.MSELoss()}, weights)


def torch_losses(weights=(1.0, 0.5)):
    return rt.MultiTaskLoss({"digit": rt.CrossEntropyLoss(), "size": rt.MSELoss()}, weights)


# --- the model ---------------------------------------------------------------------------


def test_model_returns_one_output_per_task_and_names_parameters_as_torch():
    model = numpy_model()
    X, _, _ = data()
    out = model(X)
    assert (
        list(out) == list(TASKS) and out["digit"].shape == (24, 3) and out["size"].shape == (24, 2)
    )
    names = [name for name, _ in model.named_parameters()]
    assert names == [name for name, _ in torch_twin(None).named_parameters()]
    assert names[:2] == ["trunk.0.weight", "trunk.0.bias"] and "heads.size.bias" in names


def test_list_of_heads_is_named_by_position():
    model = rnp.MultiTaskModel(rnp.Linear(3, 4), [rnp.Linear(4, 2), rnp.Linear(4, 1)])
    assert model.tasks == ("0", "1")
    twin = rt.MultiTaskModel(rt.Linear(3, 4), [rt.Linear(4, 2), rt.Linear(4, 1)])
    assert twin.tasks == ("0", "1")
    assert set(model.state_dict()) == set(twin.state_dict())


def test_numpy_backward_sums_the_heads_gradients_into_the_trunk():
    """d L / d (trunk params, x) by hand against central differences, L = sum_t <out_t, G_t>."""
    model = numpy_model()
    X, _, _ = data(n=7)
    rng = np.random.default_rng(3)
    upstream = {t: rng.standard_normal(o.shape) for t, o in model(X).items()}

    def scalar():
        return float(sum(np.sum(out * upstream[t]) for t, out in model(X).items()))

    model.zero_grad()
    model(X)
    dx = model.backward(upstream)
    assert relative_error(dx, numerical_gradient(scalar, X)) < 1e-7
    for name, p in model.named_parameters():
        assert relative_error(p.grad, numerical_gradient(scalar, p.data)) < 1e-7, name


def test_backward_with_one_task_left_out_uses_only_the_other_head():
    model = numpy_model()
    X, _, _ = data(n=5)
    out = model(X)
    model.zero_grad()
    model.backward({"digit": np.ones_like(out["digit"])})
    assert np.all(model.heads["size"].weight.grad == 0)
    assert np.any(model.trunk[0].weight.grad != 0)


def test_tied_parameter_is_listed_once_and_gets_the_sum_of_both_gradients():
    rnp.manual_seed(1)
    head_a, head_b = rnp.Linear(4, 2), rnp.Linear(4, 2)
    head_b.weight = head_a.weight  # one Parameter, two layers (each with its own cache)
    model = rnp.MultiTaskModel(rnp.Linear(3, 4), {"a": head_a, "b": head_b})
    params = model.parameters()
    assert len(params) == 5 and len({id(p) for p in params}) == 5
    X = np.random.default_rng(0).standard_normal((6, 3))
    upstream = {"a": np.ones((6, 2)), "b": 2 * np.ones((6, 2))}

    def scalar():
        return float(sum(np.sum(o * upstream[t]) for t, o in model(X).items()))

    model.zero_grad()
    model(X)
    model.backward(upstream)
    expected = numerical_gradient(scalar, head_a.weight.data)
    assert relative_error(head_a.weight.grad, expected) < 1e-7


def test_torch_shared_head_is_listed_once():
    head = rt.Linear(4, 2)
    model = rt.MultiTaskModel(rt.Linear(3, 4), {"a": head, "b": head})
    assert len(list(model.parameters())) == 4


def test_numpy_refuses_one_module_used_twice():
    head = rnp.Linear(4, 2)
    with pytest.raises(ValueError, match="same Linear instance twice"):
        rnp.MultiTaskModel(rnp.Linear(3, 4), {"a": head, "b": head})


# --- the loss ----------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [(1.0, 0.5), (0.0, 2.0), {"digit": 3.0, "size": 0.1}])
def test_numpy_loss_gradient_matches_finite_differences(weights):
    X, targets, masks = data()
    rng = np.random.default_rng(1)
    outputs = {"digit": rng.standard_normal((24, 3)), "size": rng.standard_normal((24, 2))}
    loss = numpy_losses(weights)
    loss(outputs, targets, masks)
    grads = loss.backward()
    for task in TASKS:
        numeric = numerical_gradient(lambda: loss(outputs, targets, masks), outputs[task])
        assert relative_error(grads[task], numeric) < 1e-6, task
        assert np.all(grads[task][~masks.get(task, np.ones(24, bool))] == 0)


def test_loss_is_the_weighted_sum_of_task_losses_on_labelled_examples():
    X, targets, masks = data()
    rng = np.random.default_rng(2)
    outputs = {"digit": rng.standard_normal((24, 3)), "size": rng.standard_normal((24, 2))}
    m = masks["digit"]
    expected = 2.0 * rnp.CrossEntropyLoss()(outputs["digit"][m], targets["digit"][m])
    expected += 0.5 * rnp.MSELoss()(outputs["size"], targets["size"])
    assert numpy_losses((2.0, 0.5))(outputs, targets, masks) == pytest.approx(expected, rel=1e-12)


def test_torch_loss_and_gradients_match_numpy_and_autograd_of_torch_nn():
    X, targets, masks = data()
    rng = np.random.default_rng(4)
    outputs = {"digit": rng.standard_normal((24, 3)), "size": rng.standard_normal((24, 2))}
    np_loss = numpy_losses((1.5, 0.5))
    value = np_loss(outputs, targets, masks)
    np_grads = np_loss.backward()
    t_out = {t: torch.tensor(o, requires_grad=True) for t, o in outputs.items()}
    t_targets = {t: torch.tensor(y) for t, y in targets.items()}
    total = torch_losses((1.5, 0.5))(t_out, t_targets, masks)
    total.backward()
    m = torch.tensor(masks["digit"])
    o_out = {t: torch.tensor(o, requires_grad=True) for t, o in outputs.items()}
    oracle = 1.5 * torch.nn.functional.cross_entropy(o_out["digit"][m], t_targets["digit"][m])
    oracle = oracle + 0.5 * torch.nn.functional.mse_loss(o_out["size"], t_targets["size"])
    oracle.backward()
    assert total.item() == pytest.approx(value, rel=1e-12)
    assert total.item() == pytest.approx(oracle.item(), rel=1e-12)
    for task in TASKS:
        assert np.allclose(t_out[task].grad.numpy(), np_grads[task], atol=1e-14, rtol=0)
        assert np.allclose(o_out[task].grad.numpy(), np_grads[task], atol=1e-14, rtol=0)


def test_torch_mask_may_be_a_tensor():
    X, targets, masks = data()
    outputs = {"digit": torch.zeros(24, 3), "size": torch.zeros(24, 2)}
    t_targets = {"digit": torch.tensor(targets["digit"]), "size": torch.zeros(24, 2)}
    a = rt.MultiTaskLoss([rt.CrossEntropyLoss(), rt.MSELoss()], tasks=TASKS)
    assert a(outputs, t_targets, {"digit": torch.tensor(masks["digit"])}).item() == pytest.approx(
        math.log(3)
    )


def test_batch_without_labels_for_a_task_gives_that_task_no_gradient():
    outputs = {"digit": np.ones((4, 3)), "size": np.ones((4, 2))}
    targets = {"digit": np.zeros(4, dtype=int), "size": np.zeros((4, 2))}
    loss = numpy_losses()
    value = loss(outputs, targets, {"digit": np.zeros(4, dtype=bool)})
    assert value == pytest.approx(0.5) and list(loss.backward()) == ["size"]
    t_loss = torch_losses()
    t_out = {t: torch.tensor(o, requires_grad=True) for t, o in outputs.items()}
    total = t_loss(
        t_out, {t: torch.tensor(y) for t, y in targets.items()}, {"digit": np.zeros(4, bool)}
    )
    total.backward()
    assert total.item() == pytest.approx(0.5) and torch.all(t_out["digit"].grad == 0)


# --- fit_multitask -----------------------------------------------------------------------


def fit_both(optimizer="Adam", epochs=3, batch_size=5, weights=(1.0, 0.5)):
    X, targets, masks = data()
    X_val, val_targets, _ = data(seed=9, n=10)
    np_model = numpy_model()
    t_model = torch_twin(np_model)
    train, val = (X, targets, masks), (X_val, {"digit": val_targets["digit"]})
    np_hist = rnp.fit_multitask(
        np_model,
        {"digit": rnp.CrossEntropyLoss(), "size": rnp.MSELoss()},
        weights,
        getattr(rnp, optimizer)(np_model.parameters(), lr=0.05),
        train,
        val,
        epochs,
        batch_size,
        seed=3,
    )
    t_hist = rt.fit_multitask(
        t_model,
        {"digit": rt.CrossEntropyLoss(), "size": rt.MSELoss()},
        weights,
        getattr(rt, optimizer)(t_model.parameters(), lr=0.05),
        train,
        val,
        epochs,
        batch_size,
        seed=3,
    )
    return np_model, t_model, np_hist, t_hist


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_fit_multitask_twins_agree_in_float64(optimizer):
    np_model, t_model, np_hist, t_hist = fit_both(optimizer)
    state = np_model.state_dict()
    for name, p in t_model.named_parameters():
        assert np.allclose(p.detach().numpy(), state[name], atol=1e-12, rtol=0), name
    for task in TASKS:
        for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
            a, b = getattr(np_hist[task], key), getattr(t_hist[task], key)
            assert np.allclose(a, b, atol=1e-12, rtol=0, equal_nan=True), (task, key)


def test_fit_multitask_returns_one_history_per_task():
    np_model, _, hist, _ = fit_both(epochs=2)
    assert set(hist) == set(TASKS) and all(h.epochs == 2 for h in hist.values())
    assert all(math.isnan(v) for v in hist["size"].val_loss)  # no validation targets given
    assert all(math.isnan(v) for v in hist["size"].train_acc)  # a regression task
    assert not np_model.training


def test_fit_multitask_trains_the_low_data_task_only_on_its_labels():
    """Labels under a False mask are never read: changing them changes nothing."""
    X, targets, masks = data()
    changed = dict(targets, digit=np.where(masks["digit"], targets["digit"], 2))
    finals = []
    for y in (targets, changed):
        model = numpy_model()
        rnp.fit_multitask(
            model,
            [rnp.CrossEntropyLoss(), rnp.MSELoss()],
            None,
            rnp.SGD(model.parameters(), lr=0.1),
            (X, y, masks),
            (X, y, masks),
            2,
            6,
        )
        finals.append(model.state_dict())
    assert all(np.array_equal(finals[0][k], finals[1][k]) for k in finals[0])


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("side", [rnp, rt])
def test_zero_tasks_are_refused(side):
    with pytest.raises(ValueError, match="at least one task"):
        side.MultiTaskModel(side.Linear(2, 2), {})
    with pytest.raises(ValueError, match="at least one task"):
        side.MultiTaskModel(side.Linear(2, 2), [])
    with pytest.raises(ValueError, match="at least one task"):
        side.MultiTaskLoss({})


@pytest.mark.parametrize("side", [rnp, rt])
@pytest.mark.parametrize(
    "weights, message",
    [
        ((1.0,), "has 1 entries but there are 2 tasks"),
        ((1.0, 2.0, 3.0), "has 3 entries but there are 2 tasks"),
        ((1.0, -0.5), "must be >= 0"),
        ((0.0, 0.0), "at least one task weight must be > 0"),
        ((1.0, float("nan")), "finite number"),
        ({"digit": 1.0}, "missing \\['size'\\]"),
        ({"digit": 1.0, "size": 1.0, "colour": 1.0}, "unknown \\['colour'\\]"),
        (3.0, "a dict"),
    ],
)
def test_bad_weights_are_refused(side, weights, message):
    losses = {"digit": side.CrossEntropyLoss(), "size": side.MSELoss()}
    with pytest.raises(ValueError, match=message):
        side.MultiTaskLoss(losses, weights)


@pytest.mark.parametrize("side", [rnp, rt])
def test_bad_task_names_are_refused(side):
    with pytest.raises(ValueError, match="without '.'"):
        side.MultiTaskModel(side.Linear(2, 2), {"a.b": side.Linear(2, 1)})
    with pytest.raises(ValueError, match="dict"):
        side.MultiTaskModel(side.Linear(2, 2), side.Linear(2, 1))


def bad_fit(side, train, val=None, losses=None):
    model = numpy_model() if side is rnp else torch_twin(None)
    losses = losses or {"digit": side.CrossEntropyLoss(), "size": side.MSELoss()}
    side.fit_multitask(
        model, losses, None, side.SGD(model.parameters(), lr=0.1), train, val or train, 1, 4
    )


@pytest.mark.parametrize("side", [rnp, rt])
def test_mismatched_targets_are_refused(side):
    X, targets, masks = data()
    with pytest.raises(
        ValueError, match="X has 24 examples but the targets of task 'size' have 23"
    ):
        bad_fit(side, (X, dict(targets, size=targets["size"][:-1])))
    with pytest.raises(ValueError, match="unknown tasks \\['colour'\\]"):
        bad_fit(side, (X, dict(targets, colour=targets["digit"])))
    with pytest.raises(ValueError, match="masks names unknown tasks"):
        bad_fit(side, (X, targets, {"colour": masks["digit"]}))
    with pytest.raises(ValueError, match="boolean array of shape \\(24,\\)"):
        bad_fit(side, (X, targets, {"digit": masks["digit"].astype(int)}))
    with pytest.raises(ValueError, match="no labelled example"):
        bad_fit(side, (X, targets, {"digit": np.zeros(24, bool)}))
    with pytest.raises(ValueError, match="no targets"):
        bad_fit(side, (X, {}))
    with pytest.raises(ValueError, match="must be \\(X, \\{task: y\\}\\)"):
        bad_fit(side, (X, targets["digit"], masks, None))
    with pytest.raises(ValueError, match="the losses name the tasks"):
        bad_fit(side, (X, targets), losses={"digit": side.CrossEntropyLoss()})


@pytest.mark.parametrize("side", [rnp, rt])
def test_loss_refuses_targets_of_unknown_tasks(side):
    outputs = {"digit": np.zeros((3, 3)), "size": np.zeros((3, 2))}
    targets = {"color": np.zeros(3, dtype=int)}
    if side is rt:
        outputs = {t: torch.tensor(o) for t, o in outputs.items()}
        targets = {t: torch.tensor(y) for t, y in targets.items()}
    loss = side.MultiTaskLoss({"digit": side.CrossEntropyLoss(), "size": side.MSELoss()})
    with pytest.raises(ValueError, match="unknown tasks \\['color'\\]"):
        loss(outputs, targets)


def test_numpy_backward_before_forward_and_without_tasks_raises():
    with pytest.raises(RuntimeError, match="before forward"):
        numpy_losses().backward()
    model = numpy_model()
    model(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="at least one task"):
        model.backward({})


# --- any device --------------------------------------------------------------------------


def test_torch_multitask_runs_forward_and_backward_on_meta_device():
    """The meta device holds no data: a tensor made on the CPU by accident fails loudly."""
    model = torch_twin(None, device="meta")
    x = torch.empty(6, 5, device="meta", dtype=torch.float64, requires_grad=True)
    targets = {
        "digit": torch.empty(6, dtype=torch.long, device="meta"),
        "size": torch.empty(6, 2, dtype=torch.float64, device="meta"),
    }
    mask = np.array([True, False, True, True, False, False])
    loss = torch_losses()(model(x), targets, {"digit": mask})
    loss.backward()
    assert loss.device.type == "meta" and x.grad.device.type == "meta"
    assert all(p.grad is not None and p.grad.device.type == "meta" for p in model.parameters())
    empty = torch_losses()(model(x), targets, {"digit": np.zeros(6, bool)})
    assert empty.device.type == "meta"
