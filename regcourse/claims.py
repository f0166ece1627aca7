"""The experiments of the chapter "Claims checked": one small function per claim.

Each function trains small networks from :mod:`regcourse.numpy` on scikit-learn's
8x8 digits (:func:`regcourse.data.load_digits_splits`) with the package's ``fit``,
once per seed, and returns plain numbers: a dict of NumPy arrays with one entry
per seed (shape ``(n_seeds,)``), or, for the functions that sweep a setting, one
row per setting (shape ``(n_settings, n_seeds)``). The chapter turns them into
``mean ± std`` and paired confidence intervals with :mod:`regcourse.experiments`.

A seed fixes everything random in one run: the training subset and which labels
are corrupted, the initial weights, the order of the mini-batches and the dropout
masks. Two settings run with the same seed therefore share all of that, and
their difference is *paired* (see :func:`regcourse.experiments.paired_difference`).

The defaults are small on purpose (a few hundred training images, a hidden layer
of 64 units, tens of epochs): one run takes a fraction of a second on a laptop CPU,
so that every claim can rest on five or more seeds and the chapter still runs in
well under a minute. Say so whenever a result is read: a small run that does not
show an effect a paper reports at scale has not refuted the paper.

The functions, in the order the chapter uses them:

- :func:`inverted_vs_vanilla_dropout` and :func:`dropout_test_time_scaling`: the two
  ways of scaling dropout, and what the test-time factor ``1 - p`` does;
- :func:`dropout_on_digits`: test accuracy with and without dropout;
- :func:`l2_vs_weight_decay_sgd` and :func:`adam_l2_vs_adamw`: when an L2 penalty
  and weight decay are the same algorithm (Loshchilov & Hutter, 2019);
- :func:`l2_penalty_value`: what the "L2 penalty" adds to the loss;
- :func:`penalty_parameter_count`: what penalties do (and do not do) to the
  number of parameters;
- :func:`penalty_sweep` and :func:`overfitting_reduction`: training and test
  accuracy along a penalty's strength;
- :func:`covariate_shift_with_noise_after_bn`: batch norm with *added* covariate
  shift (Santurkar et al., 2018);
- :func:`memorize_random_labels`: fitting random labels (Zhang et al., 2017).
"""

from __future__ import annotations

import numbers

import numpy as np

import regcourse.numpy as rnp
from regcourse._checks import in_unit_interval, non_negative, positive_int
from regcourse.data import load_digits_splits, shuffle_labels
from regcourse.experiments import epochs_until, run_seeds
from regcourse.numpy.random import generator

__all__ = [
    "RandomShift",
    "inverted_vs_vanilla_dropout",
    "dropout_test_time_scaling",
    "dropout_on_digits",
    "l2_vs_weight_decay_sgd",
    "adam_l2_vs_adamw",
    "best_by_validation",
    "l2_penalty_value",
    "penalty_parameter_count",
    "penalty_sweep",
    "overfitting_reduction",
    "covariate_shift_with_noise_after_bn",
    "memorize_random_labels",
]

N_FEATURES, N_CLASSES = 64, 10  # 8x8 digits, 10 classes


# ---------------------------------------------------------------------------
# Shared pieces: data, model, one training run
# ---------------------------------------------------------------------------


def _digits(seed: int, n_train, label_noise: float = 0.0):
    """The digits splits of one seed: its training subset, its corrupted labels."""
    return load_digits_splits(n_train=n_train, seed=seed, label_noise=label_noise)


def _mlp(seed: int, hidden: int, p: float = 0.0, mode: str = "inverted"):
    """A 64-hidden-10 ReLU MLP with dropout(p) on the hidden units: layers [0] .. [3]."""
    rnp.manual_seed(seed)
    return rnp.Sequential(
        rnp.Linear(N_FEATURES, hidden),
        rnp.ReLU(),
        rnp.Dropout(p, mode=mode),
        rnp.Linear(hidden, N_CLASSES),
    )


def _fit(
    model, optimizer, splits, epochs: int, seed: int, batch_size: int = 32, train=None, **fit_kwargs
):
    """``rnp.fit`` with cross-entropy; ``train``, if given, replaces ``splits.train``."""
    return rnp.fit(
        model,
        rnp.CrossEntropyLoss(),
        optimizer,
        splits.train if train is None else train,
        splits.val,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        **fit_kwargs,
    )


def _accuracy(model, split) -> float:
    """Accuracy of ``model`` on an ``(X, y)`` split, in evaluation mode."""
    return rnp.accuracy(rnp.predict(model, split[0]), split[1])


def _weights_and_biases(model):
    """(weight matrices, everything else): penalties and decay act on the matrices only."""
    weights = [p for p in model.parameters() if p.data.ndim >= 2]
    others = [p for p in model.parameters() if p.data.ndim < 2]
    return weights, others


def _flat_weights(model) -> np.ndarray:
    """All weight matrices of ``model`` as one vector."""
    return np.concatenate([w.data.ravel() for w in _weights_and_biases(model)[0]])


def _per_seed(results: list[dict]) -> dict:
    """``[{name: number} per seed]`` -> ``{name: array with one entry per seed}``."""
    return {name: np.array([r[name] for r in results]) for name in results[0]}


def _per_setting(results: list[dict]) -> dict:
    """``[{name: array over seeds} per setting]`` -> ``{name: array (n_settings, n_seeds)}``."""
    return {name: np.stack([r[name] for r in results]) for name in results[0]}


def _check_n_train(n_train):
    return None if n_train is None else positive_int("n_train", n_train)


def _check_lams(lams) -> list[float]:
    lams = [non_negative("every lam", lam) for lam in lams]
    if not lams:
        raise ValueError("lams is empty: give at least one penalty strength")
    return lams


def _softmax_stats(logits: np.ndarray, y) -> tuple[float, float, float]:
    """(cross-entropy loss, accuracy, mean confidence = mean largest probability)."""
    probs = rnp.softmax(logits)
    loss = float(rnp.CrossEntropyLoss()(logits, y))
    return loss, rnp.accuracy(logits, y), float(probs.max(axis=1).mean())


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------


def inverted_vs_vanilla_dropout(
    seeds,
    p: float = 0.5,
    n_train: int = 300,
    hidden: int = 64,
    epochs: int = 30,
    lr: float = 0.1,
    label_noise: float = 0.0,
):
    r"""Inverted and vanilla ("standard") dropout: the same model, or two different runs?

    For each seed, on a digits subset of ``n_train`` images, three 64-``hidden``-10
    MLPs with dropout ``p`` on the hidden units are trained with plain SGD at
    learning rate ``lr``, in batches of 32, for ``epochs`` epochs; all three start
    from the same initial weights and see the same batches and masks:

    - **inverted**: scale by :math:`1/(1-p)` in training, nothing at test time;
    - **vanilla**, same nominal settings: mask only in training, multiply by
      :math:`1-p` at test time;
    - **vanilla, rescaled**: output weights initialized as :math:`W/(1-p)` and
      trained with learning rate :math:`\text{lr}/(1-p)^2`. Then every step keeps
      :math:`W_v = W_i/(1-p)` and the network computes the same function as the
      inverted one (the dropout chapter proves it).

    Returns ``{"inverted": test accuracies, "vanilla": test accuracies (same
    nominal settings), "rescaled_logit_diff": max |logit difference| on the test
    set between the inverted and the rescaled vanilla network}``, one entry per seed.
    """
    rnp.Dropout(p)  # check p before training anything
    n_train = _check_n_train(n_train)

    def run(seed):
        splits = _digits(seed, n_train, label_noise)
        inverted = _mlp(seed, hidden, p)
        _fit(inverted, rnp.SGD(inverted.parameters(), lr=lr), splits, epochs, seed)
        vanilla = _mlp(seed, hidden, p, mode="vanilla")
        _fit(vanilla, rnp.SGD(vanilla.parameters(), lr=lr), splits, epochs, seed)
        rescaled = _mlp(seed, hidden, p, mode="vanilla")
        rescaled[3].weight.data /= 1 - p
        rest = [rescaled[0].weight, rescaled[0].bias, rescaled[3].bias]
        optimizer = rnp.Optimizers(
            rnp.SGD(rest, lr=lr), rnp.SGD([rescaled[3].weight], lr=lr / (1 - p) ** 2)
        )
        _fit(rescaled, optimizer, splits, epochs, seed)
        X_test = splits.test[0]
        diff = np.abs(rnp.predict(inverted, X_test) - rnp.predict(rescaled, X_test)).max()
        return {
            "inverted": _accuracy(inverted, splits.test),
            "vanilla": _accuracy(vanilla, splits.test),
            "rescaled_logit_diff": float(diff),
        }

    return _per_seed(run_seeds(run, seeds))


def dropout_test_time_scaling(
    seeds,
    p: float = 0.5,
    n_train: int = 300,
    hidden: int = 64,
    epochs: int = 30,
    lr: float = 0.1,
    n_masks: int = 20,
):
    r"""What "multiply by :math:`1-p` at test time" does to inverted and to vanilla dropout.

    For each seed one inverted-dropout and one vanilla-dropout MLP are trained
    (settings as in :func:`inverted_vs_vanilla_dropout`). Each trained network is then
    evaluated with both test-time rules: ``"nothing"`` (the hidden units pass
    unchanged) and ``"scaled"`` (they are multiplied by :math:`1-p`). The right rule
    is the one under which a hidden unit's mean at test time equals its mean in
    training, averaged over ``n_masks`` dropout masks on the test images.

    Returns per-seed arrays, for ``mode`` in ``inverted``, ``vanilla`` and ``rule`` in
    ``nothing``, ``scaled``: ``{mode}_{rule}_ratio`` (mean hidden activation at test
    time / mean in training mode), ``{mode}_{rule}_loss``, ``{mode}_{rule}_acc`` and
    ``{mode}_{rule}_conf`` (test cross-entropy, accuracy, mean largest predicted
    probability). The inverted network's ``scaled`` rule scales twice: by
    :math:`1/(1-p)` in training and again by :math:`1-p` at test time.
    """
    rnp.Dropout(p)
    n_train = _check_n_train(n_train)
    n_masks = positive_int("n_masks", n_masks)
    rule_modes = {"nothing": "inverted", "scaled": "vanilla"}  # the layer mode that evaluates so

    def run(seed):
        splits = _digits(seed, n_train)
        X, y = splits.test
        result = {}
        for mode in ("inverted", "vanilla"):
            model = _mlp(seed, hidden, p, mode=mode)
            _fit(model, rnp.SGD(model.parameters(), lr=lr), splits, epochs, seed)
            hidden_units = rnp.Sequential(*model.layers[:3])  # Linear, ReLU, Dropout
            hidden_units.train()
            train_mean = np.mean([hidden_units(X).mean() for _ in range(n_masks)])
            for rule, layer_mode in rule_modes.items():
                model[2].mode = layer_mode  # only the test-time rule changes, not the weights
                test_mean = rnp.predict(hidden_units, X).mean()
                stats = _softmax_stats(rnp.predict(model, X), y)
                result[f"{mode}_{rule}_ratio"] = float(test_mean / train_mean)
                for key, value in zip(("loss", "acc", "conf"), stats):
                    result[f"{mode}_{rule}_{key}"] = value
            model[2].mode = mode
        return result

    return _per_seed(run_seeds(run, seeds))


def dropout_on_digits(
    seeds,
    p: float = 0.5,
    n_train: int | None = 300,
    hidden: int = 64,
    epochs: int = 30,
    lr: float = 0.1,
    label_noise: float = 0.0,
):
    """Test accuracy of the same MLP trained without and with (inverted) dropout ``p``.

    For each seed: a digits training set of ``n_train`` images (``None``: the whole
    training split, 1,077 images), of whose labels a fraction ``label_noise`` is
    replaced by a wrong class; a 64-``hidden``-10 ReLU MLP, plain SGD at ``lr``, batches
    of 32, ``epochs`` epochs, the weights of the last epoch. Validation and test
    labels are always the true ones.

    Returns ``{"without": test accuracies, "with": test accuracies}``, one per seed,
    paired: both runs of a seed share data, initial weights and batch order.
    """
    rnp.Dropout(p)
    n_train = _check_n_train(n_train)

    def run(seed):
        splits = _digits(seed, n_train, label_noise)
        result = {}
        for name, rate in (("without", 0.0), ("with", p)):
            model = _mlp(seed, hidden, rate)
            _fit(model, rnp.SGD(model.parameters(), lr=lr), splits, epochs, seed)
            result[name] = _accuracy(model, splits.test)
        return result

    return _per_seed(run_seeds(run, seeds))


# ---------------------------------------------------------------------------
# L2 penalty and weight decay
# ---------------------------------------------------------------------------


def l2_vs_weight_decay_sgd(
    seeds,
    lam: float = 1e-2,
    lr: float = 0.1,
    momentum: float = 0.9,
    n_train: int = 300,
    hidden: int = 64,
    epochs: int = 10,
):
    r"""SGD on loss + L2 penalty versus SGD with weight decay: is it the same algorithm?

    Two copies of the same MLP, from the same initial weights and on the same batches:

    - loss :math:`+\ \frac{\lambda}{2}\sum W^2` (``rnp.L2(lam)`` passed to ``fit``),
      plain SGD (with ``momentum``);
    - no penalty, ``rnp.SGD(weight_decay=lam)`` on the weight matrices.

    Biases are neither penalized nor decayed in either run. Returns
    ``{"max_abs_diff": max |difference| of any parameter after training,
    "weight_norm": the Euclidean norm of all weight matrices of the first run}``,
    one per seed.
    """
    lam = non_negative("lam", lam)
    n_train = _check_n_train(n_train)

    def run(seed):
        splits = _digits(seed, n_train)
        penalized = _mlp(seed, hidden)
        _fit(
            penalized,
            rnp.SGD(penalized.parameters(), lr=lr, momentum=momentum),
            splits,
            epochs,
            seed,
            penalty=rnp.L2(lam),
        )
        decayed = _mlp(seed, hidden)
        weights, others = _weights_and_biases(decayed)
        optimizer = rnp.Optimizers(
            rnp.SGD(weights, lr=lr, momentum=momentum, weight_decay=lam),
            rnp.SGD(others, lr=lr, momentum=momentum),
        )
        _fit(decayed, optimizer, splits, epochs, seed)
        diff = max(
            np.abs(a.data - b.data).max()
            for a, b in zip(penalized.parameters(), decayed.parameters())
        )
        return {
            "max_abs_diff": float(diff),
            "weight_norm": float(np.linalg.norm(_flat_weights(penalized))),
        }

    return _per_seed(run_seeds(run, seeds))


def adam_l2_vs_adamw(
    seeds,
    lams=(1e-3, 1e-2, 1e-1),
    lr: float = 1e-2,
    n_train: int = 300,
    hidden: int = 64,
    epochs: int = 30,
    label_noise: float = 0.2,
):
    r"""Adam with an L2 penalty (coupled) versus AdamW (decoupled weight decay), per strength.

    For every strength :math:`\lambda` in ``lams`` and every seed, two copies of the
    same MLP are trained on the same batches (a digits subset of ``n_train`` images,
    a fraction ``label_noise`` of the training labels wrong, so that there is
    overfitting to prevent):

    - ``rnp.Adam(weight_decay=lam)`` on the weight matrices: the gradient
      :math:`\lambda W` joins the loss gradient and is divided by Adam's running
      RMS, like any gradient (what ``torch.optim.Adam(weight_decay=...)`` does);
    - ``rnp.AdamW(weight_decay=lam)``: the weights shrink by
      :math:`1 - \text{lr}\,\lambda` each step, outside the adaptive scaling.

    With SGD the two would be the same algorithm (:func:`l2_vs_weight_decay_sgd`).
    Returns a dict of arrays of shape ``(len(lams), n_seeds)``: ``adam_val``,
    ``adam_test``, ``adamw_val``, ``adamw_test`` (final validation and test
    accuracy), ``adam_norm``, ``adamw_norm`` (norm of the weight matrices) and
    ``relative_diff`` (:math:`\|W_\text{Adam} - W_\text{AdamW}\| / \|W_\text{AdamW}\|`).
    """
    lams = _check_lams(lams)
    n_train = _check_n_train(n_train)

    def run(seed, lam):
        splits = _digits(seed, n_train, label_noise)
        result, flat = {}, {}
        for name, optimizer_class in (("adam", rnp.Adam), ("adamw", rnp.AdamW)):
            model = _mlp(seed, hidden)
            weights, others = _weights_and_biases(model)
            optimizer = rnp.Optimizers(
                optimizer_class(weights, lr=lr, weight_decay=lam),
                optimizer_class(others, lr=lr, weight_decay=0.0),
            )
            _fit(model, optimizer, splits, epochs, seed)
            result[f"{name}_val"] = _accuracy(model, splits.val)
            result[f"{name}_test"] = _accuracy(model, splits.test)
            flat[name] = _flat_weights(model)
            result[f"{name}_norm"] = float(np.linalg.norm(flat[name]))
        result["relative_diff"] = float(
            np.linalg.norm(flat["adam"] - flat["adamw"]) / np.linalg.norm(flat["adamw"])
        )
        return result

    return _per_setting([_per_seed(run_seeds(lambda seed: run(seed, lam), seeds)) for lam in lams])


def best_by_validation(val, test):
    """The row of ``test`` whose row of ``val`` has the best mean: ``(index, test row)``.

    ``val`` and ``test`` have shape ``(n_settings, n_seeds)``: one row per setting
    (say, a penalty strength). The setting is chosen on the validation accuracy
    alone, so the test row it returns is an honest estimate.
    """
    val, test = np.asarray(val, dtype=np.float64), np.asarray(test, dtype=np.float64)
    if val.ndim != 2 or val.shape != test.shape or val.size == 0:
        raise ValueError(
            f"val and test must be non-empty arrays of the same shape (n_settings, n_seeds), "
            f"got {val.shape} and {test.shape}"
        )
    index = int(np.argmax(val.mean(axis=1)))
    return index, test[index].copy()


def l2_penalty_value(seeds, lam: float = 1e-2, hidden: int = 64):
    r"""What the "L2 penalty" adds to the loss, for the initial weights of a 64-``hidden`` layer.

    For each seed, the weight matrix :math:`W` of a freshly initialized
    ``rnp.Linear(64, hidden)``. Returns per-seed arrays: ``penalty``
    (``rnp.L2(lam).value(W)``, what the package adds), ``half_squared`` (the formula
    :math:`\frac{\lambda}{2}\|W\|^2`), ``norm`` (the norm itself, :math:`\lambda\|W\|`),
    ``grad_error`` (:math:`\max|` ``rnp.L2(lam).grad(W)`` :math:`- \lambda W|`) and
    ``norm_grad_size`` (the size :math:`\lambda` of the gradient of :math:`\lambda\|W\|`,
    :math:`\lambda W/\|W\|`, whatever :math:`\|W\|` is), next to ``grad_size``
    (:math:`\|\lambda W\|`, which shrinks with the weights).
    """
    lam = non_negative("lam", lam)
    hidden = positive_int("hidden", hidden)
    penalty = rnp.L2(lam)

    def run(seed):
        rnp.manual_seed(seed)
        w = rnp.Linear(N_FEATURES, hidden).weight.data
        norm = float(np.linalg.norm(w))
        return {
            "penalty": penalty.value(w),
            "half_squared": 0.5 * lam * norm**2,
            "norm": lam * norm,
            "grad_error": float(np.abs(penalty.grad(w) - lam * w).max()),
            "grad_size": float(np.linalg.norm(penalty.grad(w))),
            "norm_grad_size": float(np.linalg.norm(lam * w / norm)),
        }

    return _per_seed(run_seeds(run, seeds))


def penalty_parameter_count(
    seeds,
    lam_l2: float = 1e-2,
    lam_l1: float = 1e-3,
    n_train: int = 300,
    hidden: int = 64,
    epochs: int = 30,
    lr: float = 0.1,
):
    r"""How many parameters a network has after training with no penalty, L2 or L1.

    For each seed the same MLP is trained three times with SGD at ``lr``: without a
    penalty; with an L2 penalty (``rnp.L2(lam_l2)``); with L1 applied by its proximal
    step (``rnp.ProximalSGD`` with ``rnp.L1(lam_l1)``: soft-thresholding after each
    step, which sets weights to exactly zero, unlike the subgradient).

    Returns per-seed arrays, for ``name`` in ``plain``, ``l2``, ``l1``:
    ``{name}_params`` (the number of parameters: entries of all weights and
    biases), ``{name}_zero`` (the fraction of weight-matrix entries that are exactly
    0) and ``{name}_acc`` (test accuracy).
    """
    lam_l2, lam_l1 = non_negative("lam_l2", lam_l2), non_negative("lam_l1", lam_l1)
    n_train = _check_n_train(n_train)

    def run(seed):
        splits = _digits(seed, n_train)
        result = {}
        for name in ("plain", "l2", "l1"):
            model = _mlp(seed, hidden)
            if name == "l1":
                optimizer, penalty = rnp.ProximalSGD(model.parameters(), lr, rnp.L1(lam_l1)), None
            else:
                optimizer = rnp.SGD(model.parameters(), lr=lr)
                penalty = rnp.L2(lam_l2) if name == "l2" else None
            _fit(model, optimizer, splits, epochs, seed, penalty=penalty)
            result[f"{name}_params"] = sum(p.data.size for p in model.parameters())
            result[f"{name}_zero"] = float(np.mean(_flat_weights(model) == 0.0))
            result[f"{name}_acc"] = _accuracy(model, splits.test)
        return result

    return _per_seed(run_seeds(run, seeds))


def penalty_sweep(
    seeds,
    lams,
    penalty: str = "l2",
    l1_ratio: float = 0.5,
    n_train: int = 300,
    hidden: int = 64,
    epochs: int = 30,
    lr: float = 0.1,
    label_noise: float = 0.2,
):
    r"""Training, validation and test accuracy along the strength of a weight penalty.

    For every strength :math:`\lambda` in ``lams`` and every seed, the MLP is trained
    with plain SGD on loss + penalty: ``penalty="l2"`` is ``rnp.L2(lam)``
    (:math:`\frac{\lambda}{2}\|W\|^2`), ``"elastic net"`` is
    ``rnp.ElasticNet(lam, l1_ratio)``; ``lam = 0`` is the unregularized network.
    A fraction ``label_noise`` of the training labels is wrong, so that the plain
    network has something to overfit.

    Returns ``{"train_acc", "val_acc", "test_acc"}``, arrays of shape
    ``(len(lams), n_seeds)``; the training accuracy is measured on the (noisy)
    labels the network was trained on.
    """
    lams = _check_lams(lams)
    n_train = _check_n_train(n_train)
    makers = {
        "l2": lambda lam: rnp.L2(lam),
        "elastic net": lambda lam: rnp.ElasticNet(lam, l1_ratio),
    }
    if penalty not in makers:
        raise ValueError(f"penalty must be one of {sorted(makers)}, got {penalty!r}")
    in_unit_interval("l1_ratio", l1_ratio)

    def run(seed, lam):
        splits = _digits(seed, n_train, label_noise)
        model = _mlp(seed, hidden)
        _fit(
            model,
            rnp.SGD(model.parameters(), lr=lr),
            splits,
            epochs,
            seed,
            penalty=makers[penalty](lam) if lam > 0 else None,
        )
        return {
            "train_acc": _accuracy(model, splits.train),
            "val_acc": _accuracy(model, splits.val),
            "test_acc": _accuracy(model, splits.test),
        }

    return _per_setting([_per_seed(run_seeds(lambda seed: run(seed, lam), seeds)) for lam in lams])


def overfitting_reduction(train_acc, test_acc, baseline=0):
    r"""How much less a regularized network overfits than the baseline, as a fraction.

    With the train - test accuracy gap :math:`g` of every row (setting) and seed,

    .. math:: r = 1 - g / g_\text{baseline},

    computed seed by seed against row ``baseline`` (the unregularized network): 0
    means "overfits as much", 1 "no gap at all", and a negative value "overfits
    more". This is one possible reading of "X% less overfitting"; the literature
    has no standard one. Arrays of shape ``(n_settings, n_seeds)`` in and out.
    """
    train_acc = np.asarray(train_acc, dtype=np.float64)
    test_acc = np.asarray(test_acc, dtype=np.float64)
    if train_acc.ndim != 2 or train_acc.shape != test_acc.shape:
        raise ValueError(
            f"train_acc and test_acc must have the same shape (n_settings, n_seeds), "
            f"got {train_acc.shape} and {test_acc.shape}"
        )
    if isinstance(baseline, bool) or not isinstance(baseline, numbers.Integral):
        raise ValueError(f"baseline must be a row index, got {baseline!r}")
    gap = train_acc - test_acc
    if not -len(gap) <= baseline < len(gap):
        raise ValueError(f"baseline must index one of the {len(gap)} rows, got {baseline}")
    if np.any(gap[baseline] <= 0):
        raise ValueError("the baseline must overfit (train accuracy above test) in every seed")
    return 1.0 - gap / gap[baseline]


# ---------------------------------------------------------------------------
# Batch norm and covariate shift
# ---------------------------------------------------------------------------


class RandomShift(rnp.Module):
    r"""Injected covariate shift: :math:`y = s \odot x + t`, with a new random :math:`s, t` at
    every training step (Santurkar et al., 2018, section 2.1, in spirit).

    Per unit, :math:`s \sim U(1 - \text{scale}, 1 + \text{scale})` and
    :math:`t \sim U(-\text{shift}, \text{shift})`, drawn from the package's generator
    (seeded by ``fit``). In evaluation mode the layer is the identity. Placed right
    after a batch-norm layer, it makes the distribution that the next layer sees
    change from step to step: *more* internal covariate shift, not less.
    """

    def __init__(self, num_features: int, scale: float = 0.5, shift: float = 1.0):
        self.num_features = positive_int("num_features", num_features)
        self.scale = in_unit_interval("scale", scale, include_one=False)
        self.shift = non_negative("shift", shift)
        self._s = None

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        if not self.training:
            self._s = np.ones(self.num_features)
            return x
        self._s = generator().uniform(1 - self.scale, 1 + self.scale, self.num_features)
        return self._s * x + generator().uniform(-self.shift, self.shift, self.num_features)

    def backward(self, dout):
        if self._s is None:
            raise RuntimeError("RandomShift.backward called before forward")
        return dout * self._s

    def __repr__(self):
        return f"RandomShift({self.num_features}, scale={self.scale}, shift={self.shift})"


VARIANTS = ("plain", "batch norm", "batch norm + shift")


def _deep_tanh(seed: int, variant: str, depth: int, width: int):
    """``depth`` hidden tanh layers of ``width``, with BN (and RandomShift) before each tanh."""
    rnp.manual_seed(seed)
    layers, n_in = [], N_FEATURES
    for _ in range(depth):
        layers.append(rnp.Linear(n_in, width))
        if variant != "plain":
            layers.append(rnp.BatchNorm1d(width))
        if variant == "batch norm + shift":
            layers.append(RandomShift(width))
        layers.append(rnp.Tanh())
        n_in = width
    layers.append(rnp.Linear(n_in, N_CLASSES))
    return rnp.Sequential(*layers)


def covariate_shift_with_noise_after_bn(
    seeds,
    lr: float = 0.1,
    depth: int = 6,
    width: int = 32,
    n_train: int = 500,
    epochs: int = 20,
    target: float = 0.9,
):
    r"""A deep tanh MLP without batch norm, with it, and with it plus injected covariate shift.

    For each seed and each of the three variants (``"plain"``, ``"batch norm"``,
    ``"batch norm + shift"``: a :class:`RandomShift` after every batch-norm layer)
    a network of ``depth`` hidden tanh layers of ``width`` units is trained with
    plain SGD at ``lr`` on ``n_train`` digits for ``epochs`` epochs.

    Returns a dict; for each variant ``v``, ``f"{v} acc"`` (final test accuracy)
    and ``f"{v} epochs"`` (the first epoch, from 1, at which validation accuracy
    reached ``target``; ``nan`` if never), arrays with one entry per seed.
    """
    n_train = _check_n_train(n_train)
    depth, width = positive_int("depth", depth), positive_int("width", width)
    in_unit_interval("target", target)

    def run(seed):
        splits = _digits(seed, n_train)
        result = {}
        for variant in VARIANTS:
            model = _deep_tanh(seed, variant, depth, width)
            history = _fit(model, rnp.SGD(model.parameters(), lr=lr), splits, epochs, seed)
            result[f"{variant} acc"] = _accuracy(model, splits.test)
            result[f"{variant} epochs"] = epochs_until(history, target, "val_acc")
        return result

    return _per_seed(run_seeds(run, seeds))


# ---------------------------------------------------------------------------
# Memorization
# ---------------------------------------------------------------------------


def memorize_random_labels(
    seeds,
    random_labels: bool = True,
    p: float = 0.0,
    weight_decay: float = 0.0,
    optimizer: str = "adam",
    n_train: int = 200,
    hidden: int = 128,
    epochs: int = 50,
    lr: float | None = None,
):
    r"""Can an MLP fit training labels that carry no information? (Zhang et al., 2017)

    For each seed: ``n_train`` digits whose training labels are randomly permuted
    (``random_labels=True``, :func:`regcourse.data.shuffle_labels`: every class keeps
    its count, the link between image and label is gone) or left true; a
    64-``hidden``-10 MLP with dropout ``p`` and (coupled, L2-style) ``weight_decay``
    on all parameters; ``optimizer`` ``"adam"`` (default ``lr`` 0.01) or ``"sgd"``
    (momentum 0.9, default ``lr`` 0.1), batches of 32, ``epochs`` epochs.

    Returns per-seed arrays: ``train_acc`` (final accuracy on the labels trained
    on), ``test_acc`` (on true test labels) and ``epochs_to_fit`` (the first epoch
    at which the training accuracy reached 100%; ``nan`` if never).
    """
    rnp.Dropout(p)
    weight_decay = non_negative("weight_decay", weight_decay)
    n_train = _check_n_train(n_train)
    defaults = {"adam": 1e-2, "sgd": 0.1}
    if optimizer not in defaults:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    lr = defaults[optimizer] if lr is None else non_negative("lr", lr)

    def run(seed):
        splits = _digits(seed, n_train)
        X, y = splits.train
        if random_labels:
            y = shuffle_labels(y, seed=seed)
        model = _mlp(seed, hidden, p)
        if optimizer == "adam":
            opt = rnp.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        else:
            opt = rnp.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
        history = _fit(model, opt, splits, epochs, seed, train=(X, y))
        return {
            "train_acc": _accuracy(model, (X, y)),
            "test_acc": _accuracy(model, splits.test),
            "epochs_to_fit": epochs_until(history, 1.0, "train_acc"),
        }

    return _per_seed(run_seeds(run, seeds))
