"""``fit`` for PyTorch models: the same loop and arguments as ``regcourse.numpy.fit``."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from regcourse.history import History
from regcourse.training import check_fit_arguments, is_penalized, minibatches, report_progress


def model_device_and_dtype(model: nn.Module):
    """Device and floating dtype of the model's first parameter."""
    try:
        p = next(model.parameters())
    except StopIteration:
        raise ValueError("the model has no parameters to train") from None
    return p.device, p.dtype


def as_tensors(split, device, dtype, classification: bool):
    """(X, y) as tensors on ``device``: X in ``dtype``, y as class indices (int64) or in ``dtype``."""
    X, y = split
    X = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X).to(device=device, dtype=dtype)
    y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y).to(device=device)
    y = y.long() if classification else y.to(dtype)
    return X, y


def is_classification(loss_fn) -> bool:
    """True for cross-entropy losses (ours or torch's)."""
    return "CrossEntropy" in type(loss_fn).__name__


@torch.no_grad()
def predict(model: nn.Module, X) -> torch.Tensor:
    """Outputs on X in evaluation mode (the mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    out = model(X)
    model.train(was_training)
    return out


@torch.no_grad()
def evaluate(model: nn.Module, loss_fn, X, y) -> tuple[float, float]:
    """(loss, accuracy) on tensors X, y in evaluation mode; accuracy is nan for regression."""
    out = predict(model, X)
    loss = float(loss_fn(out, y))
    acc = float((out.argmax(dim=1) == y).double().mean()) if is_classification(loss_fn) else float("nan")
    return loss, acc


def penalized_parameters(model: nn.Module):
    """Weight matrices and kernels (not biases, not normalization scales)."""
    return [p for name, p in model.named_parameters() if is_penalized(name, p.shape)]


def train_one_epoch(model, loss_fn, optimizer, X, y, batch_size, rng, penalty=None, constraint=None):
    """One pass in random mini-batches: forward, loss (+ penalty), autograd backward, step."""
    model.train()
    weights = penalized_parameters(model)
    for batch in minibatches(len(X), batch_size, rng):
        index = torch.as_tensor(batch, device=X.device)
        optimizer.zero_grad()
        loss = loss_fn(model(X[index]), y[index])
        if penalty is not None:
            for w in weights:
                loss = loss + penalty.value(w)
        loss.backward()
        optimizer.step()
        if constraint is not None:
            with torch.no_grad():
                for w in weights:
                    w.copy_(constraint.project(w))


def fit(model, loss_fn, optimizer, train, val, epochs, batch_size, penalty=None, early_stopping=None, seed=0, progress=False, device=None, constraint=None) -> History:
    """Train a torch model; the twin of ``regcourse.numpy.fit`` with one more argument, ``device``.

    ``train`` and ``val`` are ``(X, y)`` pairs of NumPy arrays or tensors; they
    are cast to the model's dtype and moved to its device. ``device=None``
    keeps the model where it is; a device moves the model there first.
    Works with our losses and optimizers and with ``torch.nn``/``torch.optim``'s.
    ``seed`` fixes the mini-batch order (the same order as the NumPy ``fit``)
    and torch's random state (dropout masks).
    """
    check_fit_arguments(train, val, epochs, batch_size)
    if device is not None:
        model.to(device)
    device, dtype = model_device_and_dtype(model)
    classification = is_classification(loss_fn)
    X, y = as_tensors(train, device, dtype, classification)
    X_val, y_val = as_tensors(val, device, dtype, classification)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
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
        if early_stopping is not None and early_stopping.update(val_loss, lambda: copy.deepcopy(model.state_dict())):
            history.stopped_early = True
            break
    if early_stopping is not None:
        early_stopping.restore(model.load_state_dict)
    model.eval()
    return history
