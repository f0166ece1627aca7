"""``fit``: the training loop for NumPy models, with forward and backward by hand."""

from __future__ import annotations

import numpy as np

from regcourse.history import History
from regcourse.numpy.core import DTYPE, Module
from regcourse.numpy.losses import CrossEntropyLoss
from regcourse.numpy.random import manual_seed
from regcourse.training import check_fit_arguments, is_penalized, minibatches, report_progress


def predict(model: Module, X) -> np.ndarray:
    """The model's outputs on ``X`` in evaluation mode (the mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    out = model(np.asarray(X, dtype=DTYPE))
    model.train(was_training)
    return out


def accuracy(logits: np.ndarray, y) -> float:
    """Fraction of rows whose largest logit is at the true class."""
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(y)))


def evaluate(model: Module, loss_fn, X, y) -> tuple[float, float]:
    """(loss, accuracy) of the model on (X, y) in evaluation mode; accuracy is nan for regression."""
    out = predict(model, X)
    loss = loss_fn(out, y)
    acc = accuracy(out, y) if isinstance(loss_fn, CrossEntropyLoss) else float("nan")
    return loss, acc


def penalized_parameters(model: Module):
    """The parameters a weight penalty applies to (see ``regcourse.training.is_penalized``)."""
    return [p for name, p in model.named_parameters() if is_penalized(name, p.shape)]


def train_one_epoch(model, loss_fn, optimizer, X, y, batch_size, rng, penalty=None, constraint=None):
    """One pass over (X, y) in random mini-batches: forward, backward, (penalty), step."""
    model.train()
    weights = penalized_parameters(model)
    for batch in minibatches(len(X), batch_size, rng):
        optimizer.zero_grad()
        loss_fn(model(X[batch]), y[batch])
        model.backward(loss_fn.backward())
        if penalty is not None:
            for w in weights:
                w.grad += penalty.grad(w.data)
        optimizer.step()
        if constraint is not None:
            for w in weights:
                w.data[...] = constraint.project(w.data)


def fit(model, loss_fn, optimizer, train, val, epochs, batch_size, penalty=None, early_stopping=None, seed=0, progress=False, constraint=None) -> History:
    """Train ``model`` on ``train = (X, y)`` and record metrics on it and on ``val`` every epoch.

    - ``seed`` fixes the order of the mini-batches (and any randomness inside the
      model during training, such as dropout masks);
    - ``penalty`` (an object with ``grad(w)``) adds its gradient to every weight
      matrix, not to biases;
    - ``early_stopping`` (a ``regcourse.training.EarlyStopping``) ends training
      when validation loss stops improving, and may restore the best weights.

    Returns a ``History``; the model is left in evaluation mode.
    """
    check_fit_arguments(train, val, epochs, batch_size)
    X, y = np.asarray(train[0], dtype=DTYPE), np.asarray(train[1])
    X_val, y_val = np.asarray(val[0], dtype=DTYPE), np.asarray(val[1])
    rng = np.random.default_rng(seed)
    manual_seed(seed)
    history = History()
    if early_stopping is not None:
        early_stopping.reset()
    for epoch in range(epochs):
        train_one_epoch(model, loss_fn, optimizer, X, y, batch_size, rng, penalty, constraint)
        train_loss, train_acc = evaluate(model, loss_fn, X, y)
        val_loss, val_acc = evaluate(model, loss_fn, X_val, y_val)
        history.record(train_loss, val_loss, train_acc, val_acc)
        if progress:
            report_progress(epoch, epochs, history)
        if early_stopping is not None and early_stopping.update(val_loss, model.state_dict):
            history.stopped_early = True
            break
    if early_stopping is not None:
        early_stopping.restore(model.load_state_dict)
    model.eval()
    return history
