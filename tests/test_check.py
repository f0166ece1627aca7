"""regcourse.check: correct answers pass, and typical student bugs are caught with a message
that says what is wrong, in the student's terms. A checker never raises because the answer
is wrong."""

import numpy as np
import pytest

from regcourse import check
from regcourse.numpy.norm import BatchNorm1d
from regcourse.numpy.penalties import L2
from regcourse.numpy.penalties import soft_threshold as package_soft_threshold

# ----------------------------------------------------------------------------------------------
# Correct answers, as a student could write them


def l2_by_hand(w, lam):
    return lam / 2 * np.sum(w**2), lam * w


def l2_from_package(w, lam):
    penalty = L2(lam)
    return penalty.value(w), penalty.grad(w)


def soft_by_hand(x, threshold):
    return np.sign(x) * np.maximum(np.abs(x) - threshold, 0)


def soft_by_clipping(x, threshold):
    return x - np.clip(x, -threshold, threshold)


def dropout_by_hand(x, p, rng):
    mask = rng.random(x.shape) >= p
    return x * mask / (1 - p), mask


def dropout_float_mask(x, p, rng):
    mask = rng.binomial(1, 1 - p, size=x.shape).astype(float)
    return np.where(mask == 1, x / (1 - p), 0.0), mask


def bn_forward(x, gamma, beta, eps):
    mean, var = x.mean(axis=0), x.var(axis=0)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)


def bn_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    n = len(dout)
    dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    dx = gamma * inv_std / n * (n * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def bn_forward_staged(x, gamma, beta, eps):
    """The computational-graph version: every intermediate in the cache."""
    mu = x.mean(axis=0)
    centred = x - mu
    var = (centred**2).mean(axis=0)
    std = np.sqrt(var + eps)
    x_hat = centred / std
    return gamma * x_hat + beta, (centred, std, x_hat, gamma)


def bn_backward_staged(dout, cache):
    centred, std, x_hat, gamma = cache
    n = len(dout)
    dx_hat = dout * gamma
    dstd = -(dx_hat * centred).sum(axis=0) / std**2
    dvar = dstd / (2 * std)
    dcentred = dx_hat / std + 2 * centred * dvar / n
    dx = dcentred - dcentred.mean(axis=0)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def bn_forward_layer(x, gamma, beta, eps):
    layer = BatchNorm1d(x.shape[1], eps=eps)
    layer.weight.data[...] = gamma
    layer.bias.data[...] = beta
    return layer(x), layer


def bn_backward_layer(dout, layer):
    return layer.backward(dout), layer.weight.grad, layer.bias.grad


CORRECT = {
    "l2 by hand": lambda: check.l2_penalty(l2_by_hand),
    "l2 from the package": lambda: check.l2_penalty(l2_from_package),
    "soft by hand": lambda: check.soft_threshold(soft_by_hand),
    "soft by clipping": lambda: check.soft_threshold(soft_by_clipping),
    "soft from the package": lambda: check.soft_threshold(package_soft_threshold),
    "dropout by hand": lambda: check.dropout_forward(dropout_by_hand),
    "dropout with a float mask": lambda: check.dropout_forward(dropout_float_mask),
    "batchnorm forward by hand": lambda: check.batchnorm_forward(bn_forward),
    "batchnorm forward staged": lambda: check.batchnorm_forward(bn_forward_staged),
    "batchnorm forward layer": lambda: check.batchnorm_forward(bn_forward_layer),
    "batchnorm backward compact": lambda: check.batchnorm_backward(bn_forward, bn_backward),
    "batchnorm backward staged": lambda: check.batchnorm_backward(
        bn_forward_staged, bn_backward_staged
    ),
    "batchnorm backward layer": lambda: check.batchnorm_backward(
        bn_forward_layer, bn_backward_layer
    ),
}


@pytest.mark.parametrize("run", CORRECT.values(), ids=CORRECT.keys())
def test_correct_answers_pass(run):
    report = run()
    assert report.passed, str(report)
    assert report and "✗" not in str(report)
    assert str(report).count("✓") == len(report.checks) + 1  # each check, and the title


# ----------------------------------------------------------------------------------------------
# Planted bugs


def l2_without_half(w, lam):
    return lam * np.sum(w**2), lam * w


def l2_grad_without_lam(w, lam):
    return lam / 2 * np.sum(w**2), w


def l2_grad_with_two(w, lam):
    return lam / 2 * np.sum(w**2), 2 * lam * w


def l2_norm_not_squared(w, lam):
    return lam / 2 * np.linalg.norm(w), lam * w


def l2_not_summed(w, lam):
    return lam / 2 * w**2, lam * w


def l2_raises(w, lam):
    value = lam / 2 * sum_of_squares(w)  # noqa: F821 (the planted bug)
    return value, lam * w


def l2_in_place(w, lam):
    value = lam / 2 * np.sum(w**2)
    w *= lam
    return value, w


def soft_without_sign(x, threshold):
    return np.maximum(np.abs(x) - threshold, 0)


def soft_hard(x, threshold):
    return x * (np.abs(x) > threshold)


def soft_no_clip(x, threshold):
    return x - threshold * np.sign(x)


def soft_np_max(x, threshold):
    return np.sign(x) * np.max(np.abs(x) - threshold, 0)  # np.max, not np.maximum


def soft_flat(x, threshold):
    return soft_by_hand(x, threshold).ravel()


def soft_in_place(x, threshold):
    x[np.abs(x) <= threshold] = 0
    x -= threshold * np.sign(x)
    return x


def dropout_no_rescale(x, p, rng):
    mask = rng.random(x.shape) >= p
    return x * mask, mask


def dropout_p_as_keep(x, p, rng):
    mask = rng.random(x.shape) < p
    return x * mask / p, mask


def dropout_divides_by_p(x, p, rng):
    mask = rng.random(x.shape) >= p
    return x * mask / p, mask


def dropout_global_rng(x, p, rng):
    mask = np.random.random(x.shape) >= p
    return x * mask / (1 - p), mask


def dropout_own_seed(x, p, rng):
    mask = np.random.default_rng(0).random(x.shape) >= p
    return x * mask / (1 - p), mask


def dropout_one_mask_per_feature(x, p, rng):
    mask = rng.random(x.shape[-1]) >= p
    return x * mask / (1 - p), np.broadcast_to(mask, x.shape)


def dropout_scaled_mask(x, p, rng):
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def dropout_only_out(x, p, rng):
    return dropout_by_hand(x, p, rng)[0]


def dropout_raises(x, p, rng):
    mask = rng.rand(*x.shape) >= p
    return x * mask / (1 - p), mask


def dropout_in_place(x, p, rng):
    mask = rng.random(x.shape) >= p
    x *= mask / (1 - p)
    return x, mask


def bn_forward_unbiased(x, gamma, beta, eps):
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + eps)
    return gamma * x_hat + beta, None


def bn_forward_rows(x, gamma, beta, eps):
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta, None


def bn_forward_no_eps(x, gamma, beta, eps):
    return gamma * (x - x.mean(axis=0)) / x.std(axis=0) + beta, None


def bn_forward_eps_on_std(x, gamma, beta, eps):
    return gamma * (x - x.mean(axis=0)) / (x.std(axis=0) + eps) + beta, None


def bn_forward_swapped(x, gamma, beta, eps):
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return beta * x_hat + gamma, None


def bn_forward_in_place(x, gamma, beta, eps):
    x -= x.mean(axis=0)
    x /= np.sqrt(x.var(axis=0) + eps)
    return gamma * x + beta, None


def bn_forward_only_out(x, gamma, beta, eps):
    return bn_forward(x, gamma, beta, eps)[0]


def bn_backward_dgamma_wrong_axis(dout, cache):
    dx, _, dbeta = bn_backward(dout, cache)
    return dx, (dout * cache[0]).sum(axis=1), dbeta


def bn_backward_dbeta_mean(dout, cache):
    dx, dgamma, _ = bn_backward(dout, cache)
    return dx, dgamma, dout.mean(axis=0)


def bn_backward_dbeta_like_dgamma(dout, cache):
    dx, dgamma, _ = bn_backward(dout, cache)
    return dx, dgamma, dgamma


def bn_backward_constant_stats(dout, cache):
    x_hat, gamma, inv_std = cache
    return gamma * inv_std * dout, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def bn_backward_no_gamma(dout, cache):
    x_hat, gamma, inv_std = cache
    return bn_backward(dout, (x_hat, np.ones_like(gamma), inv_std))


def bn_backward_raises(dout, cache):
    x_hat, gamma = cache
    return dout, dout.sum(axis=0), dout.sum(axis=0)


def bn_backward_in_place(dout, cache):
    x_hat, gamma, inv_std = cache
    dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    dout *= gamma
    n = len(dout)
    dx = inv_std / n * (n * dout - dout.sum(axis=0) - x_hat * (dout * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


def bn_forward_unbiased_cached(x, gamma, beta, eps):
    inv_std = 1 / np.sqrt(x.var(axis=0, ddof=1) + eps)
    x_hat = (x - x.mean(axis=0)) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)


BUGS = {
    # L2 penalty
    "l2 without the ½": (check.l2_penalty, (l2_without_half,), ["2×", "½"]),
    "l2 grad without lam": (
        check.l2_penalty,
        (l2_grad_without_lam,),
        ["forget to multiply by lam"],
    ),
    "l2 grad 2·lam·w": (check.l2_penalty, (l2_grad_with_two,), ["2·lam·w", "cancels"]),
    "l2 norm not squared": (check.l2_penalty, (l2_norm_not_squared,), ["norm ‖w‖", "square"]),
    "l2 value not summed": (check.l2_penalty, (l2_not_summed,), ["single number", "sum"]),
    "l2 raises": (check.l2_penalty, (l2_raises,), ["NameError", "sum_of_squares(w)", "l2_raises"]),
    "l2 in place": (check.l2_penalty, (l2_in_place,), ["changed w in place"]),
    # soft-thresholding
    "soft without sign": (check.soft_threshold, (soft_without_sign,), ["never negative", "sign"]),
    "soft hard threshold": (check.soft_threshold, (soft_hard,), ["hard thresholding"]),
    "soft not clipped": (check.soft_threshold, (soft_no_clip,), ["crossed zero", "max(|x| − t"]),
    "soft np.max": (check.soft_threshold, (soft_np_max,), ["np.maximum"]),
    "soft flattened": (check.soft_threshold, (soft_flat,), ["shape (20,)", "(4, 5)", "flatten"]),
    "soft in place": (check.soft_threshold, (soft_in_place,), ["changed x in place"]),
    # dropout
    "dropout no rescale": (check.dropout_forward, (dropout_no_rescale,), ["rescale", "1/(1−p)"]),
    "dropout p as keep": (check.dropout_forward, (dropout_p_as_keep,), ["keep probability"]),
    "dropout divides by p": (check.dropout_forward, (dropout_divides_by_p,), ["divided by p"]),
    "dropout np.random": (check.dropout_forward, (dropout_global_rng,), ["rng argument"]),
    "dropout own seed": (check.dropout_forward, (dropout_own_seed,), ["different seeds"]),
    "dropout per feature": (
        check.dropout_forward,
        (dropout_one_mask_per_feature,),
        ["same for every sample", "rng.random(x.shape)"],
    ),
    "dropout scaled mask": (check.dropout_forward, (dropout_scaled_mask,), ["0/1 mask"]),
    "dropout only out": (check.dropout_forward, (dropout_only_out,), ["2 values", "(out, mask)"]),
    "dropout raises": (
        check.dropout_forward,
        (dropout_raises,),
        ["AttributeError", "rand", "mask = rng.rand(*x.shape) >= p"],
    ),
    "dropout in place": (check.dropout_forward, (dropout_in_place,), ["changed x in place"]),
    # batch norm, forward
    "bn unbiased variance": (check.batchnorm_forward, (bn_forward_unbiased,), ["unbiased", "ddof"]),
    "bn over rows": (check.batchnorm_forward, (bn_forward_rows,), ["axis=0", "layer norm"]),
    "bn no eps": (check.batchnorm_forward, (bn_forward_no_eps,), ["NaN", "sqrt(var + eps)"]),
    "bn eps on std": (check.batchnorm_forward, (bn_forward_eps_on_std,), ["to the variance"]),
    "bn swapped": (check.batchnorm_forward, (bn_forward_swapped,), ["swapped gamma and beta"]),
    "bn in place": (check.batchnorm_forward, (bn_forward_in_place,), ["changed x in place"]),
    "bn only out": (check.batchnorm_forward, (bn_forward_only_out,), ["2 values", "(out, cache)"]),
    # batch norm, backward
    "bn dgamma wrong axis": (
        check.batchnorm_backward,
        (bn_forward, bn_backward_dgamma_wrong_axis),
        ["dgamma has shape (6,)", "one value per sample", "axis=0"],
    ),
    "bn dbeta averaged": (
        check.batchnorm_backward,
        (bn_forward, bn_backward_dbeta_mean),
        ["dbeta is 1/N", "dout.sum(axis=0)"],
    ),
    "bn dbeta like dgamma": (
        check.batchnorm_backward,
        (bn_forward, bn_backward_dbeta_like_dgamma),
        ["dgamma's formula"],
    ),
    "bn dx constant stats": (
        check.batchnorm_backward,
        (bn_forward, bn_backward_constant_stats),
        ["mean and variance as constants"],
    ),
    "bn dx no gamma": (
        check.batchnorm_backward,
        (bn_forward, bn_backward_no_gamma),
        ["forgot the factor gamma"],
    ),
    "bn backward raises": (
        check.batchnorm_backward,
        (bn_forward, bn_backward_raises),
        ["your backward raised ValueError", "x_hat, gamma = cache"],
    ),
    "bn backward in place": (
        check.batchnorm_backward,
        (bn_forward, bn_backward_in_place),
        ["changed dout in place"],
    ),
    "bn backward, wrong forward": (
        check.batchnorm_backward,
        (bn_forward_unbiased_cached, bn_backward),
        ["run check.batchnorm_forward"],
    ),
}


@pytest.mark.parametrize("checker, functions, keywords", BUGS.values(), ids=BUGS.keys())
def test_planted_bugs_are_caught_with_a_helpful_message(checker, functions, keywords):
    report = checker(*functions)
    assert not report.passed and not report
    details = "\n".join(c.detail for c in report.failures)
    for keyword in keywords:
        assert keyword in details, str(report)
    assert "✗" in str(report)


# ----------------------------------------------------------------------------------------------
# The report and the robustness of the checkers


def test_a_failed_first_check_skips_the_rest():
    report = check.dropout_forward(dropout_only_out)
    assert [c.status for c in report.checks[:2]] == ["fail", "skip"]
    assert "they were not run" in report.checks[0].detail
    assert "–" in str(report) and "1 of 11 checks failed, 10 not run" in str(report)


def test_an_exception_names_the_line_of_the_students_code():
    report = check.batchnorm_backward(bn_forward, bn_backward_raises)
    detail = report.failures[0].detail
    assert "ValueError: too many values to unpack" in detail
    assert "in bn_backward_raises, line" in detail


def test_an_exception_inside_numpy_points_to_the_students_call():
    def soft_bad_axis(x, threshold):
        return np.sum(x, axis=5) - threshold

    detail = check.soft_threshold(soft_bad_axis).failures[0].detail
    assert "AxisError" in detail and "np.sum(x, axis=5)" in detail


def test_a_function_that_returns_none_is_reported():
    def unfinished(w, lam):
        lam / 2 * np.sum(w**2)

    report = check.l2_penalty(unfinished)
    assert "None" in report.failures[0].detail and "return" in report.failures[0].detail


def test_passing_a_result_instead_of_a_function_is_reported():
    report = check.l2_penalty(l2_by_hand(np.ones(3), 0.1))
    assert not report.passed
    assert "not the result of calling it" in report.failures[0].detail


def test_an_unexpected_return_value_is_reported_not_raised():
    report = check.batchnorm_backward(bn_forward, lambda dout, cache: ("dx", {}, object()))
    assert not report.passed
    assert "should be a NumPy array" in "\n".join(c.detail for c in report.failures)


def test_a_function_with_the_wrong_parameters_is_reported():
    report = check.dropout_forward(lambda x, p: x)
    detail = report.failures[0].detail
    assert "TypeError" in detail and "called with 3 arguments" in detail


def test_the_report_renders_as_text_and_html():
    report = check.soft_threshold(lambda x, t: soft_without_sign(x, t))
    text, page = str(report), report._repr_html_()
    assert text.startswith("check.soft_threshold(<lambda>): ") and repr(report) == text
    assert "&lt;lambda&gt;" in page and "<lambda>" not in page
    assert page.count("<li>") == len(report.checks) and "✗" in page and "✓" in page


def test_the_statistical_checks_pass_other_correct_ways_of_drawing_the_mask():
    def with_uniform(x, p, rng):
        mask = rng.uniform(size=x.shape) < 1 - p
        return np.where(mask, x / (1 - p), 0.0), mask.astype(int)

    for seed in range(3):  # the checker's seeds are fixed; shift the student's stream instead

        def shifted(x, p, rng, seed=seed):
            rng.random(seed)
            return with_uniform(x, p, rng)

        assert check.dropout_forward(shifted).passed
