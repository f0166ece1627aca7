"""``fit``: the training loop for NumPy models, with forward and backward by hand."""

from __future__ import annotations

import numpy as np

from regcourse.history import History
from regcourse.numpy.core import DTYPE, Module, check_no_shared_modules
from regcourse.numpy.random import manual_seed
from regcourse.training import (
    check_fit_arguments,
    check_transformed,
    finish_early_stopping,
    is_classification,
    is_penalized,
    minibatches,
    report_progress,
)


def predict(model: Module, X) -> np.ndarray:
    """The model's outputs on ``X`` in evaluation mode.

    Afterwards (even if the forward pass raises) every module gets back its own
    mode, so a layer deliberately left in evaluation mode in a training model
    (say a frozen BatchNorm) stays in evaluation mode.
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        return model(np.asarray(X, dtype=DTYPE))
    finally:
        for module, mode in modes:
            module.training = mode


def accuracy(logits: np.ndarray, y) -> float:
    """Fraction of rows whose largest logit is at the true class."""
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(y)))


def evaluate(model: Module, loss_fn, X, y) -> tuple[float, float]:
    """(loss, accuracy) of the model on (X, y) in evaluation mode; nan accuracy for regression."""
    out = predict(model, X)
    loss = loss_fn(out, y)
    acc = accuracy(out, y) if is_classification(loss_fn) else float("nan")
    return loss, acc


def penalized_parameters(model: Module):
    """The parameters a weight penalty applies to (see ``regcourse.training.is_penalized``)."""
    return [p for name, p in model.named_parameters() if is_penalized(name, p.shape)]


def transformed(transform, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``transform(x, rng)`` as a float64 array, checked to keep the shape of ``x``."""
    return np.asarray(check_transformed(x, transform(x, rng)), dtype=DTYPE)


def mixup_backward(model: Module, loss_fn, mixup, x, y, rng: np.random.Generator) -> None:
    """Forward and backward of the mixup loss on one batch (see ``regcourse.training.Mixup``).

    With x~ = lam x + (1 - lam) x[pi] and z = f(x~), the loss
    lam L(z, y) + (1 - lam) L(z, y[pi]) has the gradient

        d loss / d z = lam dL(z, y)/dz + (1 - lam) dL(z, y[pi])/dz,

    two calls of the loss's own backward, which we send back through the model.
    """
    lam, pi = mixup.draw(len(x), rng)
    z = model(lam * x + (1 - lam) * x[pi])
    loss_fn(z, y)
    dz = lam * loss_fn.backward()
    loss_fn(z, y[pi])
    dz += (1 - lam) * loss_fn.backward()
    model.backward(dz)


def train_one_epoch(
    model,
    loss_fn,
    optimizer,
    X,
    y,
    batch_size,
    rng,
    *,
    penalty=None,
    constraint=None,
    transform=None,
    mixup=None,
):
    """One pass over (X, y) in random mini-batches: forward, backward, (penalty), step.

    The options after ``rng`` are keyword-only, in ``fit``'s order; ``rng`` stays
    positional because the chapters call ``train_one_epoch(..., batch_size, rng)``.
    ``transform`` and ``mixup`` (see ``fit``) change the inputs and the loss of each batch.
    """
    model.train()
    weights = penalized_parameters(model)
    for batch in minibatches(len(X), batch_size, rng):
        x = X[batch] if transform is None else transformed(transform, X[batch], rng)
        optimizer.zero_grad()
        if mixup is None:
            loss_fn(model(x), y[batch])
            model.backward(loss_fn.backward())
        else:
            mixup_backward(model, loss_fn, mixup, x, y[batch], rng)
        if penalty is not None:
            for w in weights:
                w.grad += penalty.grad(w.data)
        optimizer.step()
        if constraint is not None:
            for w in weights:
                w.data[...] = constraint.project(w.data)


def check_device(device) -> None:
    """The NumPy reference computes on the CPU: ``device`` must be None or ``"cpu"``.

    ``fit`` takes ``device`` only so that its signature is the torch twin's.
    """
    if device is not None and str(device) != "cpu":
        raise ValueError(
            f"the NumPy reference computes on the CPU: device must be None or 'cpu', "
            f"got {device!r} (use regcourse.torch.fit to train on another device)"
        )


def fit(
    model,
    loss_fn,
    optimizer,
    train,
    val,
    epochs,
    batch_size,
    *,
    penalty=None,
    constraint=None,
    transform=None,
    mixup=None,
    early_stopping=None,
    seed=0,
    device=None,
    progress=False,
) -> History:
    """Train ``model`` on ``train = (X, y)`` and record metrics on it and on ``val`` every epoch.

    The signature is ``regcourse.torch.fit``'s, argument for argument; everything
    after ``batch_size`` is keyword-only:

    - ``penalty`` (an object with ``grad(w)``) adds its gradient to every weight
      matrix, not to biases; ``constraint`` (an object with ``project(w)``)
      projects every weight matrix after each step;
    - ``transform(X_batch, rng) -> X_batch`` changes the inputs of every
      training mini-batch (data augmentation); it gets a copy of the batch and
      ``rng``, and must return an array of the same shape. The metrics at the
      end of each epoch use the data as given;
    - ``mixup`` (a ``regcourse.training.Mixup``) trains on mixed pairs of
      examples (after ``transform``); classification with integer labels only;
    - ``early_stopping`` (a ``regcourse.training.EarlyStopping``) ends training
      when validation loss stops improving, and may restore the best weights;
      then ``history.best_epoch`` is its best epoch and ``history.restored_epoch``
      the epoch whose weights the model holds (None: the last epoch's);
    - ``seed`` seeds the generator ``rng = np.random.default_rng(seed)`` that
      orders the mini-batches and draws for ``transform`` and ``mixup``, and
      the model's own randomness during training (dropout masks);
    - ``device`` must be None or ``"cpu"`` here (the torch twin moves the model);
    - ``progress`` writes one line per epoch to stderr.

    Whether the loss is a classification loss (accuracy is tracked, mixup is
    allowed) is decided by ``regcourse.training.is_classification``.
    Each mini-batch draws from ``rng`` in the same order as ``regcourse.torch.fit``:
    the epoch's permutation, then ``transform``, then mixup's lam and pi.
    Without ``transform`` and ``mixup`` nothing but the permutation is drawn.

    Returns a ``History``; the model is left in evaluation mode.
    """
    check_fit_arguments(
        train, val, epochs, batch_size, transform, mixup, is_classification(loss_fn)
    )
    check_device(device)
    check_no_shared_modules(model)
    X, y = np.asarray(train[0], dtype=DTYPE), np.asarray(train[1])
    X_val, y_val = np.asarray(val[0], dtype=DTYPE), np.asarray(val[1])
    rng = np.random.default_rng(seed)
    manual_seed(seed)
    history = History()
    if early_stopping is not None:
        early_stopping.reset()
    for epoch in range(epochs):
        train_one_epoch(
            model,
            loss_fn,
            optimizer,
            X,
            y,
            batch_size,
            rng,
            penalty=penalty,
            constraint=constraint,
            transform=transform,
            mixup=mixup,
        )
        train_loss, train_acc = evaluate(model, loss_fn, X, y)
        val_loss, val_acc = evaluate(model, loss_fn, X_val, y_val)
        history.record(train_loss, val_loss, train_acc, val_acc)
        if progress:
            report_progress(epoch, epochs, history)
        if early_stopping is not None and early_stopping.update(val_loss, model.state_dict):
            history.stopped_early = True
            break
    if early_stopping is not None:
        finish_early_stopping(early_stopping, history, model.load_state_dict)
    model.eval()
    return history
