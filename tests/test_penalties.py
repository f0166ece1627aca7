"""Weight penalties: values, gradients (central differences and autograd), proximal steps,
errors."""

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt

PENALTIES = [
    ("L2", dict(lam=0.3)),
    ("L1", dict(lam=0.3)),
    ("ElasticNet", dict(lam=0.3, l1_ratio=0.4)),
    ("ElasticNet", dict(lam=0.3, l1_ratio=0.0)),
    ("ElasticNet", dict(lam=0.3, l1_ratio=1.0)),
]
IDS = ["l2", "l1", "enet", "enet-as-l2", "enet-as-l1"]


@pytest.fixture
def w():
    w = np.random.default_rng(0).standard_normal((4, 5))
    w[np.abs(w) < 0.05] = 0.5  # away from |w|'s kink
    return w


def test_values_follow_the_stated_conventions(w):
    assert rnp.L2(0.3).value(w) == pytest.approx(0.3 / 2 * np.sum(w**2))  # half the SQUARED norm
    assert rnp.L1(0.3).value(w) == pytest.approx(0.3 * np.sum(np.abs(w)))
    expected = 0.3 * (0.4 * np.abs(w).sum() + 0.6 / 2 * (w**2).sum())
    assert rnp.ElasticNet(0.3, 0.4).value(w) == pytest.approx(expected)
    assert rnp.ElasticNet(0.3, 1.0).value(w) == pytest.approx(rnp.L1(0.3).value(w))
    assert rnp.ElasticNet(0.3, 0.0).value(w) == pytest.approx(rnp.L2(0.3).value(w))


@pytest.mark.parametrize("name, kwargs", PENALTIES, ids=IDS)
def test_gradient_matches_central_differences(name, kwargs, w):
    penalty = getattr(rnp, name)(**kwargs)
    numeric = rnp.numerical_gradient(lambda: penalty.value(w), w)
    assert rnp.relative_error(penalty.grad(w), numeric) < 1e-7


@pytest.mark.parametrize("name, kwargs", PENALTIES, ids=IDS)
def test_numpy_and_torch_penalties_agree_with_autograd(name, kwargs, w):
    np_penalty, t_penalty = getattr(rnp, name)(**kwargs), getattr(rt, name)(**kwargs)
    tw = torch.tensor(w, requires_grad=True)
    value = t_penalty.value(tw)
    value.backward()
    assert value.item() == pytest.approx(np_penalty.value(w), rel=1e-12)
    np.testing.assert_allclose(tw.grad.numpy(), np_penalty.grad(w), rtol=1e-12)
    np.testing.assert_allclose(t_penalty.grad(tw.detach()).numpy(), np_penalty.grad(w), rtol=1e-12)
    np.testing.assert_allclose(
        t_penalty.prox(tw.detach(), 0.1).numpy(), np_penalty.prox(w, 0.1), rtol=1e-12
    )


@pytest.mark.parametrize("name, kwargs", PENALTIES, ids=IDS)
def test_prox_is_the_minimizer(name, kwargs, w):
    """prox(w, s) minimizes penalty(v) + ||v - w||^2/(2s): no small perturbation does better."""
    penalty, step = getattr(rnp, name)(**kwargs), 0.7
    v = penalty.prox(w, step)

    def objective(u):
        return penalty.value(u) + np.sum((u - w) ** 2) / (2 * step)

    rng = np.random.default_rng(1)
    for _ in range(200):
        assert objective(v) <= objective(v + 1e-3 * rng.standard_normal(w.shape)) + 1e-12


def test_soft_threshold_by_hand():
    np.testing.assert_array_equal(
        rnp.soft_threshold([-3.0, -0.5, 0.0, 0.2, 2.0], 1.0), [-2.0, 0.0, 0.0, 0.0, 1.0]
    )
    torch.testing.assert_close(
        rt.soft_threshold(torch.tensor([-3.0, 0.5, 2.0]), 1.0), torch.tensor([-2.0, 0.0, 1.0])
    )


def test_l1_subgradient_is_zero_at_zero():
    assert rnp.L1(1.0).grad(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_torch_penalties_run_on_meta_device():
    w = torch.empty(3, 4, device="meta", requires_grad=True)
    for penalty in [rt.L2(0.1), rt.L1(0.1), rt.ElasticNet(0.1, 0.5)]:
        penalty.value(w).backward()
        assert penalty.prox(w.detach(), 0.1).device.type == "meta"
        assert penalty.grad(w.detach()).device.type == "meta"


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
def test_bad_penalty_arguments_raise(module):
    with pytest.raises(ValueError, match="lam must be a number >= 0"):
        module.L2(-0.1)
    with pytest.raises(ValueError, match="lam"):
        module.L1(-1)
    with pytest.raises(ValueError, match=r"l1_ratio must lie in \[0, 1\]"):
        module.ElasticNet(0.1, 1.5)
    with pytest.raises(ValueError, match="l1_ratio"):
        module.ElasticNet(0.1, -0.2)
    with pytest.raises(ValueError, match="threshold"):
        module.soft_threshold(np.ones(2) if module is rnp else torch.ones(2), -1.0)
