"""The training loops: they learn, they agree with each other, they are seeded, they check input."""

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt
from regcourse.history import History
from regcourse.training import EarlyStopping, minibatches


@pytest.fixture(scope="module")
def blobs():
    """Three Gaussian blobs in 4-D: an easy, quick classification problem."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 3, 240)
    X = centers[y] + rng.standard_normal((240, 4))
    return (X[:160], y[:160]), (X[160:], y[160:])


def np_run(train, val, seed=0, epochs=10, **kwargs):
    rnp.manual_seed(seed)
    model = rnp.mlp([4, 16, 3])
    opt = rnp.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, rnp.fit(
        model,
        rnp.CrossEntropyLoss(),
        opt,
        train,
        val,
        epochs=epochs,
        batch_size=32,
        seed=seed,
        **kwargs,
    )


def test_numpy_fit_lowers_training_loss_and_learns(blobs):
    train, val = blobs
    _, history = np_run(train, val)
    assert isinstance(history, History) and history.epochs == 10
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_acc[-1] > 0.9


def test_torch_fit_lowers_training_loss_and_learns(blobs):
    train, val = blobs
    torch.manual_seed(0)
    model = rt.mlp([4, 16, 3])
    history = rt.fit(
        model,
        rt.CrossEntropyLoss(),
        rt.SGD(model.parameters(), lr=0.05, momentum=0.9),
        train,
        val,
        epochs=10,
        batch_size=32,
    )
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_acc[-1] > 0.9
    assert not model.training  # fit leaves the model in evaluation mode


def test_numpy_and_torch_fit_agree_step_for_step(blobs):
    """Same initial weights, same mini-batch order, float64: the same run to rounding error."""
    train, val = blobs
    rnp.manual_seed(0)
    np_model = rnp.mlp([4, 16, 3])
    t_model = rt.mlp([4, 16, 3], dtype=torch.float64)
    t_model.load_state_dict({k: torch.tensor(v) for k, v in np_model.state_dict().items()})
    h_np = rnp.fit(
        np_model,
        rnp.CrossEntropyLoss(),
        rnp.SGD(np_model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3),
        train,
        val,
        8,
        32,
        seed=4,
    )
    h_t = rt.fit(
        t_model,
        rt.CrossEntropyLoss(),
        rt.SGD(t_model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3),
        train,
        val,
        8,
        32,
        seed=4,
    )
    np.testing.assert_allclose(h_np.train_loss, h_t.train_loss, rtol=1e-10)
    np.testing.assert_allclose(h_np.val_loss, h_t.val_loss, rtol=1e-10)
    for name, value in np_model.state_dict().items():
        np.testing.assert_allclose(value, t_model.state_dict()[name].numpy(), rtol=1e-9, atol=1e-12)


def test_torch_fit_accepts_torch_builtins_and_casts_numpy(blobs):
    train, val = blobs
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    history = rt.fit(
        model,
        torch.nn.CrossEntropyLoss(),
        torch.optim.SGD(model.parameters(), lr=0.05),
        train,
        val,
        epochs=3,
        batch_size=32,
    )
    assert history.epochs == 3 and np.isfinite(history.val_acc).all()


def test_fit_is_repeatable_with_a_seed(blobs):
    train, val = blobs
    _, a = np_run(train, val, seed=1, epochs=3)
    _, b = np_run(train, val, seed=1, epochs=3)
    _, c = np_run(train, val, seed=2, epochs=3)
    assert a.val_loss == b.val_loss and a.val_loss != c.val_loss


def test_regression_history_has_nan_accuracy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 2))
    y = X @ np.array([[1.0], [-2.0]])
    model = rnp.mlp([2, 8, 1])
    history = rnp.fit(
        model, rnp.MSELoss(), rnp.SGD(model.parameters(), lr=0.05), (X, y), (X, y), 20, 10
    )
    assert history.train_loss[-1] < history.train_loss[0]
    assert np.isnan(history.train_acc).all()


def test_early_stopping_stops_and_restores_best_weights(blobs):
    (X, y), val = blobs
    # a validation loss that will rise
    noisy_val = (val[0], np.random.default_rng(0).permutation(val[1]))
    stopper = EarlyStopping(patience=3)
    model, history = np_run((X, y), noisy_val, epochs=100, early_stopping=stopper)
    assert history.stopped_early and history.epochs == history.best_epoch + 1 + 3
    assert rnp.evaluate(model, rnp.CrossEntropyLoss(), *noisy_val)[0] == pytest.approx(
        min(history.val_loss)
    )


def test_torch_early_stopping_matches_numpy(blobs):
    (X, y), val = blobs
    noisy_val = (val[0], np.random.default_rng(0).permutation(val[1]))
    rnp.manual_seed(0)
    np_model = rnp.mlp([4, 16, 3])
    t_model = rt.mlp([4, 16, 3], dtype=torch.float64)
    t_model.load_state_dict({k: torch.tensor(v) for k, v in np_model.state_dict().items()})
    h_np = rnp.fit(
        np_model,
        rnp.CrossEntropyLoss(),
        rnp.SGD(np_model.parameters(), lr=0.05),
        (X, y),
        noisy_val,
        60,
        32,
        early_stopping=EarlyStopping(3),
    )
    h_t = rt.fit(
        t_model,
        rt.CrossEntropyLoss(),
        rt.SGD(t_model.parameters(), lr=0.05),
        (X, y),
        noisy_val,
        60,
        32,
        early_stopping=EarlyStopping(3),
    )
    assert h_np.epochs == h_t.epochs and h_np.best_epoch == h_t.best_epoch


class HalfSquaredNorm:
    """A stand-in penalty lam/2 ||w||^2 for testing fit's penalty hook."""

    def __init__(self, lam):
        self.lam = lam

    def value(self, w):
        return 0.5 * self.lam * (w**2).sum()

    def grad(self, w):
        return self.lam * w


def test_penalty_hook_equals_weight_decay_on_weights_only(blobs):
    """SGD + penalty lam/2||W||^2 on weight matrices == SGD(weight_decay=lam)
    with biases left alone."""
    train, val = blobs
    rnp.manual_seed(0)
    a = rnp.mlp([4, 16, 3])
    b = rnp.mlp([4, 16, 3])
    b.load_state_dict(a.state_dict())
    rnp.fit(
        a,
        rnp.CrossEntropyLoss(),
        rnp.SGD(a.parameters(), lr=0.05),
        train,
        val,
        3,
        32,
        penalty=HalfSquaredNorm(0.1),
    )
    weights = [p for n, p in b.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in b.named_parameters() if n.endswith("bias")]
    opt = rnp.SGD(weights, lr=0.05, weight_decay=0.1)
    opt_bias = rnp.SGD(biases, lr=0.05)

    class Both:
        def zero_grad(self):
            opt.zero_grad()
            opt_bias.zero_grad()

        def step(self):
            opt.step()
            opt_bias.step()

    rnp.fit(b, rnp.CrossEntropyLoss(), Both(), train, val, 3, 32)
    for name, value in a.state_dict().items():
        np.testing.assert_allclose(value, b.state_dict()[name], rtol=1e-12, err_msg=name)
    # and the torch fit applies the same penalty through autograd
    rnp.manual_seed(0)
    start = rnp.mlp([4, 16, 3])  # the same initial weights as a and b
    t = rt.mlp([4, 16, 3], dtype=torch.float64)
    t.load_state_dict({k: torch.tensor(v) for k, v in start.state_dict().items()})
    rt.fit(
        t,
        rt.CrossEntropyLoss(),
        rt.SGD(t.parameters(), lr=0.05),
        train,
        val,
        3,
        32,
        penalty=HalfSquaredNorm(0.1),
    )
    for name, value in a.state_dict().items():
        np.testing.assert_allclose(
            value, t.state_dict()[name].numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )


def test_minibatches_cover_every_sample_once():
    batches = list(minibatches(10, 4, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches)) == list(range(10))


@pytest.mark.parametrize(
    "fit_fn, make",
    [(rnp.fit, lambda: rnp.mlp([4, 3])), (rt.fit, lambda: rt.mlp([4, 3]))],
    ids=["numpy", "torch"],
)
def test_fit_rejects_bad_arguments(fit_fn, make, blobs):
    train, val = blobs
    model = make()
    loss = rnp.CrossEntropyLoss() if fit_fn is rnp.fit else rt.CrossEntropyLoss()
    opt = (rnp.SGD if fit_fn is rnp.fit else rt.SGD)(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="train is empty"):
        fit_fn(model, loss, opt, (train[0][:0], train[1][:0]), val, 1, 8)
    with pytest.raises(ValueError, match="val: X has"):
        fit_fn(model, loss, opt, train, (val[0], val[1][:-1]), 1, 8)
    with pytest.raises(ValueError, match="epochs"):
        fit_fn(model, loss, opt, train, val, 0, 8)
    with pytest.raises(ValueError, match="batch_size"):
        fit_fn(model, loss, opt, train, val, 1, -8)
    with pytest.raises(ValueError, match=r"\(X, y\) pair"):
        fit_fn(model, loss, opt, train[0], val, 1, 8)


def test_early_stopping_rejects_bad_arguments():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(min_delta=-1)


def test_history_records_best_epoch():
    h = History()
    for loss in [3.0, 1.0, 2.0]:
        h.record(0.5, loss, 0.9, 0.8)
    assert h.best_epoch == 1 and h.epochs == 3 and h.as_dict()["epochs"] == 3


def test_progress_goes_to_stderr_only(blobs, capsys):
    train, val = blobs
    np_run(train, val, epochs=2, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "epoch 2/2" in captured.err


# --- transform and mixup ---------------------------------------------------------


def jitter(X, rng):
    """A test transform: add N(0, 0.1^2) noise, drawn from fit's rng, converted like X."""
    noise = 0.1 * rng.standard_normal(tuple(X.shape))
    if torch.is_tensor(X):
        noise = torch.as_tensor(noise, dtype=X.dtype, device=X.device)
    return X + noise


def twin_runs(train, val, options, epochs=6, seed=3):
    """The NumPy and the float64 torch fit from the same weights, with the same options."""
    rnp.manual_seed(0)
    np_model = rnp.mlp([4, 16, 3])
    t_model = rt.load_numpy_state(rt.mlp([4, 16, 3], dtype=torch.float64), np_model.state_dict())
    h_np = rnp.fit(
        np_model,
        rnp.CrossEntropyLoss(),
        rnp.SGD(np_model.parameters(), lr=0.05, momentum=0.9),
        train,
        val,
        epochs,
        32,
        seed=seed,
        **options(rnp),
    )
    h_t = rt.fit(
        t_model,
        rt.CrossEntropyLoss(),
        rt.SGD(t_model.parameters(), lr=0.05, momentum=0.9),
        train,
        val,
        epochs,
        32,
        seed=seed,
        **options(rt),
    )
    return (np_model, h_np), (t_model, h_t)


TWIN_OPTIONS = {
    "transform": lambda side: dict(transform=jitter),
    "mixup": lambda side: dict(mixup=rnp.Mixup(0.4)),
    "both": lambda side: dict(transform=jitter, mixup=rnp.Mixup(1.0)),
    "all": lambda side: dict(
        transform=jitter,
        mixup=rnp.Mixup(0.2),
        penalty=HalfSquaredNorm(1e-2),
        constraint=side.MaxNorm(2.0),
        early_stopping=EarlyStopping(2),
    ),
}


@pytest.mark.parametrize("options", TWIN_OPTIONS.values(), ids=TWIN_OPTIONS.keys())
def test_numpy_and_torch_fit_agree_with_transform_and_mixup(blobs, options):
    train, val = blobs
    (np_model, h_np), (t_model, h_t) = twin_runs(train, val, options)
    assert h_np.epochs == h_t.epochs and h_np.best_epoch == h_t.best_epoch
    np.testing.assert_allclose(h_np.train_loss, h_t.train_loss, rtol=1e-8)
    np.testing.assert_allclose(h_np.val_loss, h_t.val_loss, rtol=1e-8)
    np.testing.assert_allclose(h_np.val_acc, h_t.val_acc)
    for name, value in np_model.state_dict().items():
        np.testing.assert_allclose(
            value, t_model.state_dict()[name].numpy(), rtol=1e-8, atol=1e-10, err_msg=name
        )


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_transform_and_mixup_runs_are_repeatable_and_change_with_the_seed(blobs, side):
    train, val = blobs

    def run(seed):
        (side.manual_seed if side is rnp else torch.manual_seed)(0)
        model = side.mlp([4, 16, 3])
        opt = side.SGD(model.parameters(), lr=0.05)
        return side.fit(
            model,
            side.CrossEntropyLoss(),
            opt,
            train,
            val,
            3,
            32,
            seed=seed,
            transform=jitter,
            mixup=side.Mixup(0.5),
        ).train_loss

    assert run(1) == run(1) and run(1) != run(2)


def test_identity_transform_changes_nothing(blobs):
    """transform draws nothing by itself: with an identity transform the run is today's run."""
    train, val = blobs
    _, plain = np_run(train, val, epochs=3)
    _, same = np_run(train, val, epochs=3, transform=lambda X, rng: X)
    assert plain.train_loss == same.train_loss and plain.val_loss == same.val_loss


def test_transform_applies_to_training_batches_only(blobs):
    train, val = blobs
    seen = []

    def spy(X, rng):
        seen.append(len(X))
        return X

    np_run(train, val, epochs=2, transform=spy)
    assert seen == [32] * 5 * 2  # 160 samples in batches of 32, two epochs; no evaluation


def test_numpy_mixup_gradient_matches_central_differences():
    from regcourse.numpy.train import mixup_backward

    rnp.manual_seed(0)
    model = rnp.mlp([4, 5, 3])
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    loss_fn, mixup = rnp.CrossEntropyLoss(), rnp.Mixup(0.7)
    lam, pi = mixup.draw(6, np.random.default_rng(5))
    assert 0 < lam < 1 and sorted(pi) == list(range(6))

    def mixed_loss():
        z = model(lam * x + (1 - lam) * x[pi])
        return lam * loss_fn(z, y) + (1 - lam) * loss_fn(z, y[pi])

    model.zero_grad()
    mixup_backward(model, loss_fn, mixup, x, y, np.random.default_rng(5))  # the same lam, pi
    for name, p in model.named_parameters():
        numeric = rnp.numerical_gradient(mixed_loss, p.data)
        assert rnp.relative_error(p.grad, numeric) < 1e-7, name


def test_torch_transform_and_mixup_run_on_the_meta_device():
    """The meta device has no data: a tensor made on the CPU by accident fails loudly."""
    from regcourse.torch.train import train_one_epoch

    model = rt.mlp([4, 8, 3]).to("meta")
    X = torch.empty(20, 4, device="meta")
    y = torch.zeros(20, dtype=torch.long, device="meta")
    train_one_epoch(
        model,
        rt.CrossEntropyLoss(),
        rt.SGD(model.parameters(), lr=0.1),
        X,
        y,
        8,
        np.random.default_rng(0),
        transform=jitter,
        mixup=rt.Mixup(0.2),
    )
    assert all(p.device.type == "meta" for p in model.parameters())


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_transform_must_keep_the_shape(blobs, side):
    train, val = blobs
    model = side.mlp([4, 3])
    opt = side.SGD(model.parameters(), lr=0.1)
    loss = side.CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"transform must keep the shape.*\(32, 4\).*\(32, 3\)"):
        side.fit(model, loss, opt, train, val, 1, 32, transform=lambda X, rng: X[:, :3])
    with pytest.raises(ValueError, match="transform must return an array or tensor, got NoneType"):
        side.fit(model, loss, opt, train, val, 1, 32, transform=lambda X, rng: None)
    with pytest.raises(ValueError, match="transform must be a function"):
        side.fit(model, loss, opt, train, val, 1, 32, transform="flip")


@pytest.mark.parametrize("alpha", [0, -1, 0.0, float("nan"), float("inf"), True, "1"])
def test_mixup_needs_a_positive_alpha(alpha):
    with pytest.raises(ValueError, match="Mixup alpha must be a finite number > 0"):
        rnp.Mixup(alpha)


@pytest.mark.parametrize(
    "loss_fn", [rnp.MSELoss(), rt.MSELoss(), torch.nn.MSELoss()], ids=["numpy", "torch", "torch.nn"]
)
def test_mixup_rejects_a_regression_loss(loss_fn):
    side = rnp if isinstance(loss_fn, rnp.MSELoss) else rt
    X = np.random.default_rng(0).standard_normal((20, 2))
    y = X[:, :1] * 2.0
    model = side.mlp([2, 1])
    with pytest.raises(ValueError, match="mixup .* does not apply to a regression loss"):
        side.fit(
            model,
            loss_fn,
            side.SGD(model.parameters(), lr=0.1),
            (X, y),
            (X, y),
            1,
            5,
            mixup=side.Mixup(0.2),
        )


def test_mixup_must_be_a_mixup(blobs):
    train, val = blobs
    model = rnp.mlp([4, 3])
    with pytest.raises(ValueError, match=r"mixup must be a Mixup\(alpha\) or None, got float"):
        rnp.fit(
            model,
            rnp.CrossEntropyLoss(),
            rnp.SGD(model.parameters(), lr=0.1),
            train,
            val,
            1,
            32,
            mixup=0.2,
        )


# --- predict gives every module back its own mode ------------------------------------


def frozen_bn_model(side):
    """A training model whose BatchNorm is deliberately frozen in evaluation mode."""
    model = side.Sequential(side.Linear(4, 6), side.BatchNorm1d(6), side.ReLU(), side.Linear(6, 3))
    model.train()
    model[1].eval()
    return model


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_predict_restores_each_module_mode(side):
    model = frozen_bn_model(side)
    X = np.ones((5, 4)) if side is rnp else torch.ones(5, 4)
    side.predict(model, X)
    assert [m.training for m in model.modules()] == [True, True, False, True, True]


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_predict_restores_modes_when_the_forward_pass_raises(side):
    model = frozen_bn_model(side)
    X = np.ones((5, 7)) if side is rnp else torch.ones(5, 7)  # wrong feature count
    with pytest.raises(ValueError, match="expects input"):
        side.predict(model, X)
    assert [m.training for m in model.modules()] == [True, True, False, True, True]


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_evaluate_keeps_a_frozen_batchnorm_frozen(side):
    model = frozen_bn_model(side)
    X, y = np.ones((5, 4)), np.zeros(5, dtype=int)
    if side is rt:
        X, y = torch.ones(5, 4), torch.zeros(5, dtype=torch.long)
    side.evaluate(model, side.CrossEntropyLoss(), X, y)
    assert not model[1].training and model[0].training


def test_the_two_fits_and_train_one_epochs_have_one_signature():
    """Same names, same order, same defaults; everything after batch_size keyword-only."""
    import inspect

    from regcourse.numpy.train import train_one_epoch as np_epoch
    from regcourse.torch.train import train_one_epoch as t_epoch

    for numpy_fn, torch_fn, last_positional in (
        (rnp.fit, rt.fit, "batch_size"),
        (np_epoch, t_epoch, "rng"),
    ):
        np_sig, t_sig = inspect.signature(numpy_fn), inspect.signature(torch_fn)
        assert [(p.name, p.kind, p.default) for p in np_sig.parameters.values()] == [
            (p.name, p.kind, p.default) for p in t_sig.parameters.values()
        ]
        names = list(np_sig.parameters)
        after = names[names.index(last_positional) + 1 :]
        assert after and all(
            np_sig.parameters[n].kind is inspect.Parameter.KEYWORD_ONLY for n in after
        )
    assert list(inspect.signature(rnp.fit).parameters)[7:] == [
        "penalty",
        "constraint",
        "transform",
        "mixup",
        "early_stopping",
        "seed",
        "device",
        "progress",
    ]
    # the options of train_one_epoch are fit's, in fit's order
    assert list(inspect.signature(np_epoch).parameters)[7:] == [
        "penalty",
        "constraint",
        "transform",
        "mixup",
    ]


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_options_after_batch_size_must_be_named(side, blobs):
    train, val = blobs
    model = side.mlp([4, 3])
    with pytest.raises(TypeError):
        side.fit(
            model,
            side.CrossEntropyLoss(),
            side.SGD(model.parameters(), lr=0.1),
            train,
            val,
            1,
            32,
            None,
        )


def test_numpy_fit_accepts_only_the_cpu_as_device(blobs):
    train, val = blobs
    for device in (None, "cpu", torch.device("cpu")):
        _, history = np_run(train, val, epochs=1, device=device)
        assert history.epochs == 1
    with pytest.raises(ValueError, match="the NumPy reference computes on the CPU"):
        np_run(train, val, epochs=1, device="cuda")


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_evaluate_asks_the_shared_predicate_whether_to_measure_accuracy(side, blobs):
    """Both sides: accuracy for a loss that declares ``classification = True``, nan otherwise."""
    train, _ = blobs
    model = side.mlp([4, 3])
    X, y = (
        (train[0], train[1])
        if side is rnp
        else (torch.tensor(train[0]).float(), torch.tensor(train[1]))
    )

    class Smoothed(side.CrossEntropyLoss):  # the attribute decides, not the class name
        pass

    class NotAClassifier(side.CrossEntropyLoss):
        classification = False

    _, acc = side.evaluate(model, Smoothed(), X, y)
    assert 0 <= acc <= 1 and acc == side.accuracy(side.predict(model, X), y)
    _, acc = side.evaluate(model, NotAClassifier(), X, y)
    assert np.isnan(acc)


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_the_same_seed_gives_bit_identical_histories(blobs, side):
    """Every recorded number, bit for bit, when a run is repeated with the same seeds."""
    train, val = blobs

    def run():
        (side.manual_seed if side is rnp else torch.manual_seed)(7)
        model = side.mlp([4, 16, 3])
        opt = side.Adam(model.parameters(), lr=0.01)
        history = side.fit(model, side.CrossEntropyLoss(), opt, train, val, 4, 32, seed=7)
        return history, model.state_dict()

    (first, weights_a), (second, weights_b) = run(), run()
    for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
        a, b = np.asarray(getattr(first, key)), np.asarray(getattr(second, key))
        assert a.tobytes() == b.tobytes(), key
    for name in weights_a:
        a, b = np.asarray(weights_a[name]), np.asarray(weights_b[name])
        assert a.tobytes() == b.tobytes(), name
