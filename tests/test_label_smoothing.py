"""Label smoothing: both sides match torch.nn.CrossEntropyLoss(label_smoothing=eps), in float64.

torch's convention: the target is q = (1 - eps) onehot + eps / C, and eps lies in [0, 1).
"""

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt

EPSILONS = [0.0, 0.1, 0.3, 0.9]


def batch(seed=0, n=16, n_classes=5, scale=3.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n, n_classes)), rng.integers(0, n_classes, n)


def oracle(logits, target, eps):
    """torch.nn's loss and its gradient by autograd, in float64."""
    t_logits = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.CrossEntropyLoss(label_smoothing=eps)(t_logits, torch.tensor(target))
    loss.backward()
    return loss.item(), t_logits.grad.numpy()


@pytest.mark.parametrize("eps", EPSILONS)
def test_numpy_loss_and_gradient_match_torch_nn(eps):
    logits, target = batch()
    loss_fn = rnp.CrossEntropyLoss(label_smoothing=eps)
    value = loss_fn(logits, target)
    ref_value, ref_grad = oracle(logits, target, eps)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(loss_fn.backward(), ref_grad, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("eps", EPSILONS)
def test_numpy_gradient_matches_central_differences(eps):
    # Unit-scale logits, so no probability is tiny. The error is relative entry by entry, and
    # with eps = 0.9 the target is nearly uniform, so some entries p - q are only ~1e-4: the
    # central differences' rounding (~1e-10 absolute) then reads as ~1e-6.
    logits, target = batch(seed=1, n=6, scale=1.0)
    assert rnp.check_loss_gradient(rnp.CrossEntropyLoss(eps), logits, target) < 1e-6


@pytest.mark.parametrize("eps", EPSILONS)
def test_torch_twin_loss_and_gradient_match_torch_nn(eps):
    logits, target = batch(seed=2)
    t_logits = torch.tensor(logits, requires_grad=True)
    loss = rt.CrossEntropyLoss(label_smoothing=eps)(t_logits, torch.tensor(target))
    loss.backward()
    ref_value, ref_grad = oracle(logits, target, eps)
    assert loss.dtype == torch.float64
    assert loss.item() == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(t_logits.grad.numpy(), ref_grad, rtol=1e-10, atol=1e-15)


def test_smoothed_target_is_the_stated_mixture():
    """d loss / d z = (p - q) / N, so q = p - N * grad: (1 - eps) onehot + eps / C."""
    logits, target = batch(seed=3, n=4, n_classes=4)
    eps = 0.2
    loss_fn = rnp.CrossEntropyLoss(eps)
    loss_fn(logits, target)
    q = rnp.softmax(logits) - 4 * loss_fn.backward()
    expected = np.full((4, 4), eps / 4)
    expected[np.arange(4), target] += 1 - eps
    np.testing.assert_allclose(q, expected, atol=1e-14)


def test_smoothing_keeps_the_loss_above_zero_for_a_confident_correct_prediction():
    logits, target = np.array([[30.0, 0.0, 0.0]]), np.array([0])
    assert rnp.CrossEntropyLoss(0.0)(logits, target) < 1e-12
    assert rnp.CrossEntropyLoss(0.1)(logits, target) > 0.5  # wrong classes get eps / C


@pytest.mark.parametrize("module", [rnp, rt], ids=["numpy", "torch"])
@pytest.mark.parametrize("eps", [1.0, 1.5, -0.1, "0.1", None, True, float("nan")])
def test_smoothing_outside_zero_one_raises(module, eps):
    with pytest.raises(ValueError, match=r"label_smoothing must lie in \[0, 1\)"):
        module.CrossEntropyLoss(label_smoothing=eps)


def test_torch_twin_rejects_float_targets():
    with pytest.raises(ValueError, match="integer class indices"):
        rt.CrossEntropyLoss(0.1)(torch.zeros(2, 3), torch.tensor([0.0, 1.0]))


def test_the_loss_classes_declare_whether_they_classify():
    """One predicate on both sides: the ``classification`` attribute of our loss classes."""
    from regcourse.training import is_classification

    for side in (rnp, rt):
        assert side.CrossEntropyLoss.classification is True
        assert side.MSELoss.classification is False
        assert is_classification(side.CrossEntropyLoss(label_smoothing=0.1))
        assert not is_classification(side.MSELoss())
    assert is_classification(torch.nn.CrossEntropyLoss())  # no attribute: the class name
    assert not is_classification(torch.nn.MSELoss())

    class Hinge(rnp.MSELoss):  # a new loss says what it is
        classification = True

    assert is_classification(Hinge())


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_out_of_range_classes_raise_one_message_on_both_sides(side):
    logits = np.zeros((3, 4))
    target = np.array([0, 4, 1])
    if side is rt:
        logits, target = torch.tensor(logits), torch.tensor(target)
    with pytest.raises(
        ValueError,
        match=r"^target classes must lie in \[0, 3\], got range "
        r"\[0, 4\]$",
    ):
        side.CrossEntropyLoss()(logits, target)


def test_both_loss_modules_have_check_class_range():
    import regcourse.numpy.losses as np_losses
    import regcourse.torch.losses as t_losses

    np_losses.check_class_range(np.array([0, 3]), 4)
    t_losses.check_class_range(torch.tensor([0, 3]), 4)
    for module, target in ((np_losses, np.array([-1])), (t_losses, torch.tensor([-1]))):
        with pytest.raises(ValueError, match="target classes must lie in"):
            module.check_class_range(target, 4)


def test_softmax_and_log_softmax_exist_on_both_sides_and_agree():
    logits = np.random.default_rng(0).standard_normal((5, 4)) * 30
    np.testing.assert_allclose(
        rnp.softmax(logits), rt.softmax(torch.tensor(logits)).numpy(), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(
        rnp.log_softmax(logits), rt.log_softmax(torch.tensor(logits)).numpy(), rtol=1e-12
    )
