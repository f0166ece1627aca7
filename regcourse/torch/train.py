"""``fit`` for PyTorch models: the same loop and arguments as ``regcourse.numpy.fit``."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from regcourse.history import History
from regcourse.training import (
    check_fit_arguments,
    check_transformed,
    finish_early_stopping,
    is_classification,
    is_penalized,
    minibatches,
    report_progress,
)


def model_device_and_dtype(model: nn.Module):
    """Device and floating dtype of the model's first parameter."""
    try:
        p = next(model.parameters())
    except StopIteration:
        raise ValueError("the model has no parameters to train") from None
    return p.device, p.dtype


def class_indices(y: torch.Tensor) -> torch.Tensor:
    """Labels as int64 class indices; floats are accepted only if they are whole numbers.

    Casting 1.7 to an integer would silently train on class 1, so non-integer
    labels raise a ValueError instead.
    """
    if y.dtype.is_complex:
        raise ValueError(f"class labels must be integer class indices, got dtype {y.dtype}")
    if y.dtype.is_floating_point and y.device.type != "meta":
        whole = torch.isfinite(y) & (y == torch.round(y))
        if not bool(whole.all()):
            bad = y[~whole][:3].tolist()
            raise ValueError(
                f"class labels must be integer class indices (0, 1, 2, ...), got non-integer "
                f"values such as {bad}; round or encode the labels first"
            )
    return y.long()


def as_tensors(split, device, dtype, classification: bool):
    """(X, y) as tensors on ``device``: X in ``dtype``, y as int64 class indices or in ``dtype``.

    Classification labels must be whole numbers (see ``class_indices``).
    """
    X, y = split
    X = torch.as_tensor(X if torch.is_tensor(X) else np.asarray(X)).to(device=device, dtype=dtype)
    y = torch.as_tensor(y if torch.is_tensor(y) else np.asarray(y)).to(device=device)
    y = class_indices(y) if classification else y.to(dtype)
    return X, y


@torch.no_grad()
def predict(model: nn.Module, X) -> torch.Tensor:
    """Outputs on X in evaluation mode.

    Afterwards (even if the forward pass raises) every module gets back its own
    mode, so a layer deliberately left in evaluation mode in a training model
    (say a frozen BatchNorm) stays in evaluation mode.
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        return model(X)
    finally:
        for module, mode in modes:
            module.training = mode


def accuracy(logits: torch.Tensor, y) -> float:
    """Fraction of rows whose largest logit is at the true class."""
    y = torch.as_tensor(y if torch.is_tensor(y) else np.asarray(y), device=logits.device)
    return int((logits.argmax(dim=1) == y).sum()) / len(y)


@torch.no_grad()
def evaluate(model: nn.Module, loss_fn, X, y) -> tuple[float, float]:
    """(loss, accuracy) on tensors X, y in evaluation mode; accuracy is nan for regression."""
    out = predict(model, X)
    loss = float(loss_fn(out, y))
    acc = accuracy(out, y) if is_classification(loss_fn) else float("nan")
    return loss, acc


def load_numpy_state(model: nn.Module, state: dict) -> nn.Module:
    """Load NumPy arrays into ``model``, e.g. ``load_checkpoint``'s result or a NumPy twin's state.

    Each array becomes a tensor of the dtype and on the device of the tensor it
    replaces; torch's ``load_state_dict`` then checks names and shapes. Returns ``model``.
    """
    own = model.state_dict()
    tensors = {}
    for name, value in state.items():
        like = own.get(name)
        if like is None:
            tensors[name] = torch.as_tensor(value)  # load_state_dict reports the stray name
        else:
            tensors[name] = torch.as_tensor(np.asarray(value), dtype=like.dtype, device=like.device)
    model.load_state_dict(tensors)
    return model


def snapshot(model: nn.Module) -> dict:
    """A deep copy of ``model.state_dict()``: what early stopping keeps of the best epoch."""
    return copy.deepcopy(model.state_dict())


def penalized_parameters(model: nn.Module):
    """Weight matrices and kernels (not biases, not normalization scales)."""
    return [p for name, p in model.named_parameters() if is_penalized(name, p.shape)]


def transformed(transform, x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """``transform(x, rng)`` as a tensor like ``x``, checked to keep the shape of ``x``."""
    out = check_transformed(x, transform(x, rng))
    return torch.as_tensor(out, dtype=x.dtype, device=x.device)


def mixup_loss(model: nn.Module, loss_fn, mixup, x, y, rng: np.random.Generator):
    """The mixup loss lam L(f(x~), y) + (1 - lam) L(f(x~), y[pi]) of one batch.

    x~ = lam x + (1 - lam) x[pi]; see ``regcourse.training.Mixup``. Autograd
    differentiates it (the NumPy twin adds the two loss gradients by hand).
    """
    lam, pi = mixup.draw(len(x), rng)
    pi = torch.as_tensor(pi, device=x.device)
    z = model(lam * x + (1 - lam) * x[pi])
    return lam * loss_fn(z, y) + (1 - lam) * loss_fn(z, y[pi])


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
    """One pass in random mini-batches: forward, loss (+ penalty), autograd backward, step.

    The options after ``rng`` are keyword-only, in ``fit``'s order; ``rng`` stays
    positional because the chapters call ``train_one_epoch(..., batch_size, rng)``.
    ``transform`` and ``mixup`` (see ``fit``) change the inputs and the loss of each batch.
    """
    model.train()
    weights = penalized_parameters(model)
    for batch in minibatches(len(X), batch_size, rng):
        index = torch.as_tensor(batch, device=X.device)
        x = X[index] if transform is None else transformed(transform, X[index], rng)
        optimizer.zero_grad()
        if mixup is None:
            loss = loss_fn(model(x), y[index])
        else:
            loss = mixup_loss(model, loss_fn, mixup, x, y[index], rng)
        if penalty is not None:
            for w in weights:
                loss = loss + penalty.value(w)
        loss.backward()
        optimizer.step()
        if constraint is not None:
            with torch.no_grad():
                for w in weights:
                    w.copy_(constraint.project(w))


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
    """Train a torch model; the twin of ``regcourse.numpy.fit``, argument for argument.

    The signature is the NumPy ``fit``'s; everything after ``batch_size`` is
    keyword-only. ``train`` and ``val`` are ``(X, y)`` pairs of NumPy arrays or
    tensors; they are cast to the model's dtype and moved to its device.
    ``device=None`` keeps the model where it is; a device moves the model there
    first (the NumPy ``fit`` accepts only None or ``"cpu"``).
    Works with our losses and optimizers and with ``torch.nn``/``torch.optim``'s.

    Every other argument means what it means for ``regcourse.numpy.fit``:
    ``penalty`` adds ``penalty.value(w)`` of every weight matrix to the loss
    (autograd gives its gradient); ``constraint`` projects every weight matrix
    after each step; ``transform(X_batch, rng)`` gets a copy of each training
    batch as a tensor on the model's device and must return one of the same
    shape; ``mixup`` is a ``regcourse.training.Mixup``, differentiated here by
    autograd; ``early_stopping`` sets ``history.best_epoch`` and
    ``history.restored_epoch``; ``seed`` seeds ``rng = np.random.default_rng(seed)``
    (the mini-batch order, the draws of ``transform`` and ``mixup``: the same as
    the NumPy ``fit``) and torch's random state (dropout masks); ``progress``
    writes one line per epoch to stderr. Whether the loss is a classification
    loss is decided by ``regcourse.training.is_classification``, as there.
    """
    classification = is_classification(loss_fn)
    check_fit_arguments(train, val, epochs, batch_size, transform, mixup, classification)
    if device is not None:
        model.to(device)
    device, dtype = model_device_and_dtype(model)
    X, y = as_tensors(train, device, dtype, classification)
    X_val, y_val = as_tensors(val, device, dtype, classification)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
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
        if early_stopping is not None and early_stopping.update(val_loss, lambda: snapshot(model)):
            history.stopped_early = True
            break
    if early_stopping is not None:
        finish_early_stopping(early_stopping, history, model.load_state_dict)
    model.eval()
    return history
