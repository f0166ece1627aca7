"""regcourse.check, the later checkers (layer norm, elastic-net proximal step, 1-D convolution,
early stopping, label smoothing): correct answers pass, and typical student bugs are caught
with a message that says what is wrong."""

import numpy as np
import pytest

from regcourse import check
from regcourse.numpy import Conv1d, ElasticNet, LayerNorm
from regcourse.training import EarlyStopping

# ----------------------------------------------------------------------------------------------
# Correct answers, as a student could write them


def ln_by_hand(x, gamma, beta, eps):
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta, (x_hat, gamma)


def ln_layer(x, gamma, beta, eps):
    layer = LayerNorm(x.shape[-1], eps=eps)
    layer.weight.data[...] = gamma
    layer.bias.data[...] = beta
    return layer(x), layer


def enet_by_hand(w, step, alpha, l1_ratio):
    t, c = step * alpha * l1_ratio, step * alpha * (1 - l1_ratio)
    return np.sign(w) * np.maximum(np.abs(w) - t, 0) / (1 + c)


def enet_package(w, step, alpha, l1_ratio):
    return ElasticNet(alpha, l1_ratio).prox(w, step)


def conv_loops(x, weight, bias, stride):
    n, c_in, length = x.shape
    c_out, _, k = weight.shape
    l_out = (length - k) // stride + 1
    out = np.zeros((n, c_out, l_out))
    for i in range(n):
        for o in range(c_out):
            for t in range(l_out):
                out[i, o, t] = np.sum(weight[o] * x[i, :, stride * t : stride * t + k]) + bias[o]
    return out


def conv_einsum(x, weight, bias, stride):
    k = weight.shape[2]
    windows = np.lib.stride_tricks.sliding_window_view(x, k, axis=2)[:, :, ::stride]
    return np.einsum("nctk,ock->not", windows, weight) + bias[:, None]


def conv_package(x, weight, bias, stride):
    layer = Conv1d(weight.shape[1], weight.shape[0], weight.shape[2], stride=stride)
    layer.weight.data[...] = weight
    layer.bias.data[...] = bias
    return layer(x)


def es_by_hand(val_losses, patience, min_delta):
    best, best_epoch, waited = float("inf"), -1, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited == patience:
                return best_epoch, epoch
    return best_epoch, -1


def es_package(val_losses, patience, min_delta):
    stopper = EarlyStopping(patience, min_delta)
    for loss in val_losses:
        if stopper.update(loss, dict):
            break
    return stopper.best_epoch, stopper.stopped_epoch


def ls_by_hand(labels, n_classes, eps):
    return (1 - eps) * np.eye(n_classes)[labels] + eps / n_classes


def ls_loop(labels, n_classes, eps):
    targets = np.full((len(labels), n_classes), eps / n_classes)
    for i, label in enumerate(labels):
        targets[i, label] += 1 - eps
    return targets


CORRECT = {
    "layer norm by hand": lambda: check.layernorm_forward(ln_by_hand),
    "layer norm layer": lambda: check.layernorm_forward(ln_layer),
    "elastic net by hand": lambda: check.elastic_net_prox(enet_by_hand),
    "elastic net package": lambda: check.elastic_net_prox(enet_package),
    "conv1d loops": lambda: check.conv1d_forward(conv_loops),
    "conv1d einsum": lambda: check.conv1d_forward(conv_einsum),
    "conv1d package": lambda: check.conv1d_forward(conv_package),
    "early stopping by hand": lambda: check.early_stopping(es_by_hand),
    "early stopping package": lambda: check.early_stopping(es_package),
    "label smoothing by hand": lambda: check.label_smoothing_targets(ls_by_hand),
    "label smoothing loop": lambda: check.label_smoothing_targets(ls_loop),
}


@pytest.mark.parametrize("run", CORRECT.values(), ids=CORRECT.keys())
def test_correct_answers_pass(run):
    report = run()
    assert report.passed, str(report)
    assert str(report).count("✓") == len(report.checks) + 1


# ----------------------------------------------------------------------------------------------
# Planted bugs


def ln_batch_axis(x, gamma, beta, eps):
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return gamma * x_hat + beta, None


def ln_unbiased(x, gamma, beta, eps):
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, ddof=1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta, None


def ln_eps_on_std(x, gamma, beta, eps):
    mean, std = x.mean(axis=-1, keepdims=True), x.std(axis=-1, keepdims=True)
    return gamma * (x - mean) / (std + eps) + beta, None


def ln_axis_one(x, gamma, beta, eps):
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta, None


def ln_in_place(x, gamma, beta, eps):
    x -= x.mean(axis=-1, keepdims=True)
    x /= np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    return gamma * x + beta, None


def enet_no_step(w, step, alpha, l1_ratio):
    return enet_by_hand(w, 1.0, alpha, l1_ratio)


def enet_swapped_ratio(w, step, alpha, l1_ratio):
    return enet_by_hand(w, step, alpha, 1 - l1_ratio)


def enet_gradient_shrink(w, step, alpha, l1_ratio):
    t, c = step * alpha * l1_ratio, step * alpha * (1 - l1_ratio)
    return np.sign(w) * np.maximum(np.abs(w) - t, 0) * (1 - c)


def enet_shrink_first(w, step, alpha, l1_ratio):
    t, c = step * alpha * l1_ratio, step * alpha * (1 - l1_ratio)
    v = w / (1 + c)
    return np.sign(v) * np.maximum(np.abs(v) - t, 0)


def enet_l1_only(w, step, alpha, l1_ratio):
    t = step * alpha * l1_ratio
    return np.sign(w) * np.maximum(np.abs(w) - t, 0)


def conv_flipped(x, weight, bias, stride):
    return conv_loops(x, weight[:, :, ::-1], bias, stride)


def conv_ignores_stride(x, weight, bias, stride):
    return conv_loops(x, weight, bias, 1)


def conv_stride_by_one(x, weight, bias, stride):
    out = conv_loops(x, weight, bias, 1)
    return out[:, :, : (x.shape[2] - weight.shape[2]) // stride + 1]


def conv_bias_per_input(x, weight, bias, stride):
    out = conv_loops(x, weight, 0 * bias, stride)
    for _ in range(x.shape[1]):
        out = out + bias[:, None]
    return out


def conv_one_short(x, weight, bias, stride):
    return conv_loops(x, weight, bias, stride)[:, :, :-1]


def es_previous_epoch(val_losses, patience, min_delta):
    best_epoch, previous, waited = -1, float("inf"), 0
    for epoch, loss in enumerate(val_losses):
        if loss < previous - min_delta:
            best_epoch, waited = epoch, 0
        else:
            waited += 1
            if waited == patience:
                return best_epoch, epoch
        previous = loss
    return best_epoch, -1


def es_one_late(val_losses, patience, min_delta):
    return es_by_hand(val_losses, patience + 1, min_delta)[0], es_by_hand_late(
        val_losses, patience, min_delta
    )


def es_by_hand_late(val_losses, patience, min_delta):
    best, waited = float("inf"), 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, waited = loss, 0
        else:
            waited += 1
            if waited > patience:
                return epoch
    return -1


def es_global_argmin(val_losses, patience, min_delta):
    return int(np.argmin(val_losses)), es_by_hand(val_losses, patience, min_delta)[1]


def es_no_min_delta(val_losses, patience, min_delta):
    return es_by_hand(val_losses, patience, 0.0)


def es_ties(val_losses, patience, min_delta):
    best, best_epoch, waited = float("inf"), -1, 0
    for epoch, loss in enumerate(val_losses):
        if loss <= best - min_delta:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited == patience:
                return best_epoch, epoch
    return best_epoch, -1


def ls_other_convention(labels, n_classes, eps):
    onehot = np.eye(n_classes)[labels]
    return (1 - eps) * onehot + eps / (n_classes - 1) * (1 - onehot)


def ls_true_class_left_out(labels, n_classes, eps):
    onehot = np.eye(n_classes)[labels]
    return (1 - eps) * onehot + eps / n_classes * (1 - onehot)


def ls_swapped(labels, n_classes, eps):
    return eps * np.eye(n_classes)[labels] + (1 - eps) / n_classes


def ls_transposed(labels, n_classes, eps):
    return ls_by_hand(labels, n_classes, eps).T


BUGS = {
    # layer norm
    "ln over the batch": (check.layernorm_forward, ln_batch_axis, ["axis=0", "batch norm"]),
    "ln unbiased": (check.layernorm_forward, ln_unbiased, ["unbiased", "ddof"]),
    "ln eps on std": (check.layernorm_forward, ln_eps_on_std, ["to the variance"]),
    "ln axis 1": (check.layernorm_forward, ln_axis_one, ["(N, T, D)", "axis=-1"]),
    "ln in place": (check.layernorm_forward, ln_in_place, ["changed x in place"]),
    # elastic net
    "enet no step": (check.elastic_net_prox, enet_no_step, ["left out step"]),
    "enet swapped ratio": (check.elastic_net_prox, enet_swapped_ratio, ["swapped l1_ratio"]),
    "enet gradient shrink": (
        check.elastic_net_prox,
        enet_gradient_shrink,
        ["gradient step", "divides", "not the minimizer"],
    ),
    "enet shrink first": (check.elastic_net_prox, enet_shrink_first, ["shrank first"]),
    "enet l1 only": (check.elastic_net_prox, enet_l1_only, ["only the L1 part"]),
    # 1-D convolution
    "conv flipped": (check.conv1d_forward, conv_flipped, ["flipped", "cross-correlation"]),
    "conv ignores stride": (
        check.conv1d_forward,
        conv_ignores_stride,
        ["stride 2", "(L − K) // stride + 1"],
    ),
    "conv window steps by one": (
        check.conv1d_forward,
        conv_stride_by_one,
        ["moved the window by 1"],
    ),
    "conv bias per input channel": (
        check.conv1d_forward,
        conv_bias_per_input,
        ["once per input channel"],
    ),
    "conv one window short": (check.conv1d_forward, conv_one_short, ["one window short"]),
    # early stopping
    "es previous epoch": (
        check.early_stopping,
        es_previous_epoch,
        ["previous epoch", "best loss so far"],
    ),
    "es one late": (check.early_stopping, es_one_late, ["one epoch late"]),
    "es global argmin": (check.early_stopping, es_global_argmin, ["whole list", "never saw"]),
    "es no min_delta": (check.early_stopping, es_no_min_delta, ["ignored min_delta"]),
    "es ties": (check.early_stopping, es_ties, ["strict"]),
    # label smoothing
    "ls k-1 convention": (
        check.label_smoothing_targets,
        ls_other_convention,
        ["k − 1", "EVERY class"],
    ),
    "ls true class left out": (
        check.label_smoothing_targets,
        ls_true_class_left_out,
        ["sum to", "true class"],
    ),
    "ls swapped": (check.label_smoothing_targets, ls_swapped, ["swapped eps"]),
    "ls transposed": (check.label_smoothing_targets, ls_transposed, ["transposed"]),
}


@pytest.mark.parametrize("checker, function, keywords", BUGS.values(), ids=BUGS.keys())
def test_planted_bugs_are_caught_with_a_helpful_message(checker, function, keywords):
    report = checker(function)
    assert not report.passed
    details = "\n".join(c.detail for c in report.failures)
    for keyword in keywords:
        assert keyword in details, str(report)


STUBS = {
    "layernorm_forward": lambda x, gamma, beta, eps: None,
    "elastic_net_prox": lambda w, step, alpha, l1_ratio: None,
    "conv1d_forward": lambda x, weight, bias, stride: None,
    "early_stopping": lambda val_losses, patience, min_delta: None,
    "label_smoothing_targets": lambda labels, n_classes, eps: None,
}


@pytest.mark.parametrize("name", STUBS)
def test_unfinished_and_raising_functions_are_reported_not_raised(name):
    checker = getattr(check, name)
    assert not checker(STUBS[name]).passed

    def stub(*args):
        raise NotImplementedError("write it")

    report = checker(stub)
    assert not report.passed and "NotImplementedError" in report.failures[0].detail
    assert not checker(42).passed


# ----------------------------------------------------------------------------------------------
# Noise, shifts, ensembles, minimum-norm least squares, polynomial features


def noise_by_hand(x, sigma, rng):
    return x + sigma * rng.standard_normal(x.shape)


def noise_normal(x, sigma, rng):
    return x + rng.normal(0.0, sigma, size=x.shape)


def shift_by_hand(x, shifts):
    out = np.zeros_like(x)
    length = x.shape[1]
    for i, k in enumerate(shifts):
        if k >= 0:
            out[i, k:] = x[i, : max(length - k, 0)]
        else:
            out[i, : max(length + k, 0)] = x[i, -k:]
    return out


def ens_by_hand(probs):
    return np.mean(probs, axis=0)


def mnls_pinv(X, y):
    return np.linalg.pinv(X) @ y


def mnls_lstsq(X, y):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def poly_by_hand(x, degree):
    return (
        np.column_stack([x**j for j in range(1, degree + 1)]) if degree else np.zeros((len(x), 0))
    )


def poly_broadcast(x, degree):
    return x[:, None] ** np.arange(1, degree + 1)


MORE_CORRECT = {
    "noise by hand": lambda: check.gaussian_noise_forward(noise_by_hand),
    "noise rng.normal": lambda: check.gaussian_noise_forward(noise_normal),
    "shift by hand": lambda: check.shift_signals(shift_by_hand),
    "ensemble mean": lambda: check.ensemble_average(ens_by_hand),
    "min-norm pinv": lambda: check.min_norm_least_squares(mnls_pinv),
    "min-norm lstsq": lambda: check.min_norm_least_squares(mnls_lstsq),
    "polynomial by hand": lambda: check.polynomial_features(poly_by_hand),
    "polynomial broadcast": lambda: check.polynomial_features(poly_broadcast),
}


@pytest.mark.parametrize("run", MORE_CORRECT.values(), ids=MORE_CORRECT.keys())
def test_more_correct_answers_pass(run):
    report = run()
    assert report.passed, str(report)


def noise_multiplicative(x, sigma, rng):
    return x * (1 + sigma * rng.standard_normal(x.shape))


def noise_variance(x, sigma, rng):
    return x + sigma**2 * rng.standard_normal(x.shape)


def noise_per_feature(x, sigma, rng):
    return x + sigma * rng.standard_normal(x.shape[-1])


def noise_global(x, sigma, rng):
    return x + sigma * np.random.standard_normal(x.shape)


def shift_roll(x, shifts):
    return np.stack([np.roll(row, k) for row, k in zip(x, shifts)])


def shift_wrong_way(x, shifts):
    return shift_by_hand(x, -np.asarray(shifts))


def ens_sum(probs):
    return probs.sum(axis=0)


def ens_wrong_axis(probs):
    return probs.mean(axis=1)


def ens_geometric(probs):
    return np.exp(np.log(probs).mean(axis=0))


def mnls_normal_equations(X, y):
    return np.linalg.solve(X.T @ X + 1e-3 * np.eye(X.shape[1]), X.T @ y)


def mnls_column(X, y):
    return (np.linalg.pinv(X) @ y)[:, None]


def mnls_some_exact_fit(X, y):
    n, d = X.shape
    if n >= d:
        return np.linalg.lstsq(X, y, rcond=None)[0]
    w = np.zeros(d)
    w[:n] = np.linalg.solve(X[:, :n], y)
    return w


def poly_with_ones(x, degree):
    return x[:, None] ** np.arange(0, degree + 1)


def poly_from_zero(x, degree):
    return x[:, None] ** np.arange(0, degree)


def poly_multiples(x, degree):
    return x[:, None] * np.arange(1, degree + 1)


MORE_BUGS = {
    "noise multiplicative": (
        check.gaussian_noise_forward,
        noise_multiplicative,
        ["multiplied x by the noise"],
    ),
    "noise sigma squared": (check.gaussian_noise_forward, noise_variance, ["sigma²"]),
    "noise per feature": (check.gaussian_noise_forward, noise_per_feature, ["every sample"]),
    "noise np.random": (check.gaussian_noise_forward, noise_global, ["rng argument"]),
    "shift roll": (check.shift_signals, shift_roll, ["np.roll", "with 0"]),
    "shift wrong way": (check.shift_signals, shift_wrong_way, ["wrong way"]),
    "ensemble sum": (check.ensemble_average, ens_sum, ["summed", "k = 5"]),
    "ensemble wrong axis": (check.ensemble_average, ens_wrong_axis, ["axis=0", "examples"]),
    "ensemble geometric": (check.ensemble_average, ens_geometric, ["geometric mean"]),
    "min-norm small ridge": (check.min_norm_least_squares, mnls_normal_equations, ["ridge term"]),
    "min-norm column": (check.min_norm_least_squares, mnls_column, ["ravel"]),
    "min-norm another exact fit": (
        check.min_norm_least_squares,
        mnls_some_exact_fit,
        ["fits the data exactly", "smallest"],
    ),
    "poly with ones": (check.polynomial_features, poly_with_ones, ["column of ones"]),
    "poly from zero": (check.polynomial_features, poly_from_zero, ["x⁰"]),
    "poly multiples": (check.polynomial_features, poly_multiples, ["powers, not multiples"]),
}


@pytest.mark.parametrize("checker, function, keywords", MORE_BUGS.values(), ids=MORE_BUGS.keys())
def test_more_planted_bugs_are_caught(checker, function, keywords):
    report = checker(function)
    assert not report.passed
    details = "\n".join(c.detail for c in report.failures)
    for keyword in keywords:
        assert keyword in details, str(report)


@pytest.mark.parametrize(
    "name",
    [
        "gaussian_noise_forward",
        "shift_signals",
        "ensemble_average",
        "min_norm_least_squares",
        "polynomial_features",
    ],
)
def test_more_checkers_report_stubs_without_raising(name):
    def stub(*args):
        raise NotImplementedError("write it")

    report = getattr(check, name)(stub)
    assert not report.passed and "NotImplementedError" in report.failures[0].detail


# ----------------------------------------------------------------------------------------------
# Weighted multitask loss


def mt_by_hand(losses, masks, weights):
    total = 0.0
    for loss, mask, weight in zip(losses, masks, weights):
        if mask.any():
            total += weight * loss[mask].mean()
    return total


def mt_vectorized(losses, masks, weights):
    counts = masks.sum(axis=1)
    means = np.where(counts > 0, (losses * masks).sum(axis=1) / np.maximum(counts, 1), 0.0)
    return float(weights @ means)


def mt_over_n(losses, masks, weights):
    return float(weights @ ((losses * masks).sum(axis=1) / losses.shape[1]))


def mt_unweighted(losses, masks, weights):
    return mt_by_hand(losses, masks, np.ones_like(weights))


def mt_nan_for_empty(losses, masks, weights):
    return sum(w * loss[m].mean() for loss, m, w in zip(losses, masks, weights))


def mt_per_task(losses, masks, weights):
    return np.array([w * loss[m].mean() for loss, m, w in zip(losses, masks, weights)])


MT_CASES = {
    "over N": (mt_over_n, ["divided each task's masked sum by N", "mask.sum()"]),
    "unweighted": (mt_unweighted, ["left out the weights"]),
    "nan for an empty task": (mt_nan_for_empty, ["NaN", "mask.any()"]),
    "one loss per task": (mt_per_task, ["one loss per task"]),
}


@pytest.mark.parametrize("function", [mt_by_hand, mt_vectorized])
def test_multitask_loss_passes_correct_answers(function):
    report = check.multitask_loss(function)
    assert report.passed, str(report)


@pytest.mark.parametrize("function, keywords", MT_CASES.values(), ids=MT_CASES.keys())
def test_multitask_loss_catches_planted_bugs(function, keywords):
    report = check.multitask_loss(function)
    assert not report.passed
    details = "\n".join(c.detail for c in report.failures)
    for keyword in keywords:
        assert keyword in details, str(report)
