"""Adam, AdamW and proximal SGD: step for step equal to torch.optim, exact zeros from the prox."""

import inspect

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt

CASES = [
    ("Adam", torch.optim.Adam, dict(lr=0.01)),
    ("Adam", torch.optim.Adam, dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.99), eps=1e-6)),
    ("AdamW", torch.optim.AdamW, dict(lr=0.01)),
    ("AdamW", torch.optim.AdamW, dict(lr=0.01, weight_decay=0.3)),
]


@pytest.mark.parametrize(
    "name, reference, kwargs", CASES, ids=["adam", "adam-l2", "adamw-default", "adamw"]
)
def test_trajectories_equal_torch_optim(name, reference, kwargs):
    """30 steps on the same random gradients: ours (NumPy and torch) equal torch.optim's."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    np_param = rnp.Parameter(w0)
    ours, ref = torch.nn.Parameter(torch.tensor(w0)), torch.nn.Parameter(torch.tensor(w0))
    optimizers = [
        getattr(rnp, name)([np_param], **kwargs),
        getattr(rt, name)([ours], **kwargs),
        reference([ref], **kwargs),
    ]
    for _ in range(30):
        grad = rng.standard_normal((3, 4))
        np_param.grad[...] = grad
        ours.grad, ref.grad = torch.tensor(grad), torch.tensor(grad)
        for opt in optimizers:
            opt.step()
    np.testing.assert_allclose(np_param.data, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(ours.detach(), ref.detach(), rtol=1e-12, atol=1e-14)


def test_l2_and_weight_decay_are_the_same_for_sgd_but_not_for_adam():
    """SGD: gradient of lam/2||w||^2 == weight_decay=lam.
    Adam: L2 (coupled) != AdamW (decoupled)."""
    rng = np.random.default_rng(0)
    w0, grads = rng.standard_normal(5), rng.standard_normal((20, 5))

    def run(make_opt, add_l2):
        p = rnp.Parameter(w0)
        opt = make_opt([p])
        for g in grads:
            p.grad[...] = g + (0.1 * p.data if add_l2 else 0)
            opt.step()
        return p.data

    sgd_l2 = run(lambda ps: rnp.SGD(ps, lr=0.1), add_l2=True)
    sgd_decay = run(lambda ps: rnp.SGD(ps, lr=0.1, weight_decay=0.1), add_l2=False)
    np.testing.assert_allclose(sgd_l2, sgd_decay, rtol=1e-14)
    adam_l2 = run(lambda ps: rnp.Adam(ps, lr=0.1, weight_decay=0.1), add_l2=False)
    adamw = run(lambda ps: rnp.AdamW(ps, lr=0.1, weight_decay=0.1), add_l2=False)
    assert np.abs(adam_l2 - adamw).max() > 1e-3


def test_proximal_sgd_gives_exact_zeros_and_subgradient_does_not():
    """Fit an L1-penalized linear model both ways: only the proximal step lands on 0.0."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 20))
    y = X[:, :3] @ np.array([2.0, -1.0, 0.5]) + 0.1 * rng.standard_normal(200)
    y = y.reshape(-1, 1)
    zeros = {}
    for kind in ["proximal", "subgradient"]:
        rnp.manual_seed(0)
        model = rnp.Linear(20, 1)
        if kind == "proximal":
            opt, penalty = rnp.ProximalSGD(model.parameters(), lr=0.05, penalty=rnp.L1(0.05)), None
        else:
            opt, penalty = rnp.SGD(model.parameters(), lr=0.05), rnp.L1(0.05)
        rnp.fit(
            model, rnp.MSELoss(), opt, (X, y), (X, y), epochs=100, batch_size=200, penalty=penalty
        )
        zeros[kind] = int(np.sum(model.weight.data == 0.0))
    assert zeros["proximal"] >= 15  # the 17 irrelevant weights (bar a couple) are exactly zero
    assert zeros["subgradient"] == 0  # they hover around zero, never on it


def test_torch_proximal_sgd_matches_numpy():
    rng = np.random.default_rng(1)
    w0, grads = rng.standard_normal((4, 3)), rng.standard_normal((10, 4, 3))
    np_p = rnp.Parameter(w0)
    t_p = torch.nn.Parameter(torch.tensor(w0))
    np_opt = rnp.ProximalSGD([np_p], lr=0.1, penalty=rnp.ElasticNet(0.5, 0.7))
    t_opt = rt.ProximalSGD([t_p], lr=0.1, penalty=rt.ElasticNet(0.5, 0.7))
    for g in grads:
        np_p.grad[...] = g
        t_p.grad = torch.tensor(g)
        np_opt.step()
        t_opt.step()
    np.testing.assert_allclose(np_p.data, t_p.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_optimizers_step_on_meta_device():
    p = torch.nn.Parameter(torch.empty(3, 3, device="meta"))
    p.grad = torch.empty(3, 3, device="meta")
    for opt in [
        rt.Adam([p], weight_decay=0.1),
        rt.AdamW([p]),
        rt.ProximalSGD([p], lr=0.1, penalty=rt.L1(0.1)),
    ]:
        opt.step()
        opt.step()
    assert p.device.type == "meta"


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
def test_bad_optimizer_arguments_raise(module):
    params = lambda: (  # noqa: E731
        (rnp.Linear(2, 2) if module is rnp else rt.Linear(2, 2)).parameters()
    )
    with pytest.raises(ValueError, match="weight_decay"):
        module.Adam(params(), weight_decay=-0.1)
    with pytest.raises(ValueError, match=r"betas\[1\] must lie in \[0, 1\)"):
        module.AdamW(params(), betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="lr"):
        module.Adam(params(), lr=-1e-3)
    with pytest.raises(ValueError, match="prox"):
        module.ProximalSGD(params(), lr=0.1, penalty="L1")


@pytest.mark.parametrize(
    "name, reference",
    [
        ("SGD", torch.optim.SGD),
        ("Adam", torch.optim.Adam),
        ("AdamW", torch.optim.AdamW),
        ("ProximalSGD", None),
    ],
)
def test_torch_step_with_a_closure_runs_it_with_autograd_on(name, reference):
    """As torch.optim: step(closure) recomputes the loss with gradients (step itself is no_grad)."""
    torch.manual_seed(0)
    x = torch.randn(5, 3, dtype=torch.float64)
    kwargs = dict(lr=0.1, momentum=0.9) if name == "SGD" else dict(lr=0.1)
    if name == "ProximalSGD":
        kwargs["penalty"] = rt.L1(0.01)
    params = {}
    for side, make in [("ours", getattr(rt, name)), ("torch", reference)]:
        if make is None:
            continue
        w = torch.nn.Parameter(torch.ones(3, 2, dtype=torch.float64))
        opt = make([w], **kwargs)

        def closure():
            opt.zero_grad()
            loss = ((x @ w) ** 2).mean()
            loss.backward()
            return loss

        for _ in range(3):
            loss = opt.step(closure)
        assert torch.is_tensor(loss) and loss.grad_fn is not None
        params[side] = w.detach()
    if "torch" in params:
        torch.testing.assert_close(params["ours"], params["torch"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
def test_adam_and_adamw_differ_only_by_the_decoupled_flag(module):
    """One mechanism on both sides: AdamW is Adam with ``decoupled = True`` (no hook methods)."""
    assert module.Adam.decoupled is False and module.AdamW.decoupled is True
    # AdamW inherits Adam's step (torch patches ``step`` onto each class, so read the source)
    assert "def step" not in inspect.getsource(module.AdamW)
    for name in ("decay_weights", "gradient"):
        assert not hasattr(module.Adam, name)

    class DecoupledAdam(module.Adam):
        decoupled = True

    rng = np.random.default_rng(1)
    w0, grads = rng.standard_normal((3, 2)), rng.standard_normal((5, 3, 2))
    results = []
    for cls in (module.AdamW, DecoupledAdam):
        if module is rnp:
            p = rnp.Parameter(w0)
        else:
            p = torch.nn.Parameter(torch.tensor(w0))
        opt = cls([p], lr=0.05, weight_decay=0.2)
        for g in grads:
            if module is rnp:
                p.grad[...] = g
            else:
                p.grad = torch.tensor(g)
            opt.step()
        results.append(np.array(p.data if module is rnp else p.detach().numpy()))
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
@pytest.mark.parametrize("betas", [(0.9,), (0.9, 0.99, 0.9), 0.9, (0.9, "0.99"), (-0.1, 0.9)])
def test_bad_betas_raise_the_same_error_on_both_sides(module, betas):
    p = rnp.Parameter(np.zeros(2)) if module is rnp else torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="betas"):
        module.Adam([p], betas=betas)
