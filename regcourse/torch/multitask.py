"""Multitask learning, the PyTorch twin of ``regcourse.numpy.multitask``: same names.

A ``MultiTaskModel`` returns {task: head_t(trunk(x))}; a ``MultiTaskLoss`` is
L = sum_t w_t L_t(out_t, y_t), each L_t averaged over the examples labelled for
task t; autograd sums the heads' gradients into the trunk (the NumPy twin does it
by hand). ``fit_multitask`` trains on several targets, with the same mini-batch
order as the NumPy one, and returns one ``History`` per task. Tensors are made
like their inputs, so everything runs on the CPU, on CUDA or on the meta device.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from regcourse._checks import positive_int
from regcourse._multitask import check_split, check_task_dict, check_task_weights, per_task
from regcourse._multitask import task_names_and_heads as _task_names_and_heads
from regcourse.history import History
from regcourse.torch.train import accuracy, as_tensors, model_device_and_dtype, predict
from regcourse.training import is_classification, minibatches, report_progress


class MultiTaskModel(nn.Module):
    """A shared ``trunk`` and one head per task: forward returns {task: head_t(trunk(x))}.

    ``heads`` is a dict {task name: module} or a list of modules (named "0", "1", ...),
    kept in a ``torch.nn.ModuleDict``: parameters are named ``trunk.*`` and
    ``heads.<task>.*``, as on the NumPy side. A module or parameter used twice
    (say one head shared by two tasks) is listed once by ``parameters()``, and
    autograd sums its gradients.
    """

    def __init__(self, trunk: nn.Module, heads):
        super().__init__()
        named = _task_names_and_heads(heads)
        for name, module in [("trunk", trunk), *named.items()]:
            if not isinstance(module, nn.Module):
                raise ValueError(
                    f"{'the trunk' if name == 'trunk' else f'the head of task {name!r}'} must be "
                    f"a torch.nn.Module, got {type(module).__name__}"
                )
        self.trunk = trunk
        self.heads = nn.ModuleDict(named)
        self.tasks = tuple(named)

    def forward(self, x) -> dict:
        h = self.trunk(x)
        return {task: head(h) for task, head in self.heads.items()}


class MultiTaskLoss(nn.Module):
    """L = sum_t w_t L_t(out_t[labelled], y_t[labelled]), a scalar tensor (autograd backward).

    Arguments as in the NumPy twin: ``losses`` (a dict or a list in task order:
    ``CrossEntropyLoss`` for a class target, ``MSELoss`` for a real one; torch.nn's
    work too), ``weights`` w_t >= 0 (None: all 1), ``tasks`` to name lists.
    ``loss(outputs, targets, masks=None)``: dicts by task; ``masks[t]`` is a boolean
    NumPy array (or tensor) marking the labelled examples. A task with no labelled
    example in the batch contributes 0. ``task_losses`` keeps the last call's L_t.
    """

    def __init__(self, losses, weights=None, tasks=None):
        super().__init__()
        tasks = list(losses) if isinstance(losses, dict) else tasks
        if tasks is None:
            tasks = [str(i) for i in range(len(losses))] if hasattr(losses, "__len__") else []
        self.losses = per_task("losses", losses, tasks)
        for task, loss in self.losses.items():
            if not callable(loss):
                raise ValueError(
                    f"the loss of task {task!r} must be a loss function "
                    f"(CrossEntropyLoss, MSELoss), got {type(loss).__name__}"
                )
        self.tasks = tuple(self.losses)
        self.weights = check_task_weights(weights, self.tasks)
        self.task_losses: dict = {}

    def forward(self, outputs: dict, targets: dict, masks: dict | None = None):
        check_task_dict("outputs", outputs, self.tasks)
        check_task_dict("targets", targets, self.tasks)
        masks = check_task_dict("masks", {} if masks is None else masks, self.tasks)
        missing = [t for t in targets if t not in outputs]
        if missing:
            raise ValueError(f"targets given for tasks {missing} that have no outputs")
        total, self.task_losses = None, {}
        for task, y in targets.items():
            out = outputs[task]
            rows = _labelled_rows(task, masks.get(task), out, len(y))
            if rows is not None and rows.numel() == 0:
                # no label here: a zero term, so the head's gradient is 0 (not None) and
                # Adam's moments move as on the NumPy side, where the gradient stays 0
                term = outputs[task].sum() * 0.0
                total = term if total is None else total + term
                continue
            if rows is not None:
                out, y = out.index_select(0, rows), y.index_select(0, rows.to(y.device))
            value = self.losses[task](out, y)
            self.task_losses[task] = value.detach()
            term = self.weights[task] * value
            total = term if total is None else total + term
        if total is None:  # no targets at all: a zero like the outputs
            total = sum(out.sum() * 0.0 for out in outputs.values())
        return total

    def extra_repr(self):
        return ", ".join(
            f"{t}: {self.weights[t]:g} x {type(loss).__name__}" for t, loss in self.losses.items()
        )


def _labelled_rows(task: str, mask, out: torch.Tensor, n_y: int):
    """Indices (a tensor like ``out``) of the labelled rows of one task; None for all rows.

    The indices are computed from a NumPy mask on the CPU, so this works on the meta
    device too (a mask tensor is read with ``nonzero``, which meta tensors cannot).
    """
    if n_y != len(out):
        raise ValueError(f"task {task!r}: {len(out)} outputs but {n_y} targets")
    if mask is None:
        return None
    if torch.is_tensor(mask):
        if mask.dtype != torch.bool or tuple(mask.shape) != (len(out),):
            raise ValueError(
                f"the mask of task {task!r} must be a boolean array of shape ({len(out)},), "
                f"got dtype {mask.dtype} and shape {tuple(mask.shape)}"
            )
        return torch.nonzero(mask).flatten().to(out.device)
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (len(out),):
        raise ValueError(
            f"the mask of task {task!r} must be a boolean array of shape ({len(out)},), "
            f"got dtype {mask.dtype} and shape {mask.shape}"
        )
    return torch.as_tensor(np.flatnonzero(mask), device=out.device)


@torch.no_grad()
def evaluate_multitask(model: MultiTaskModel, losses, X, targets: dict, masks=None) -> dict:
    """{task: (loss, accuracy)} on the labelled examples of each task, in evaluation mode.

    ``X`` and the targets are tensors on the model's device; accuracy is nan for
    a regression task.
    """
    criterion = losses if isinstance(losses, MultiTaskLoss) else MultiTaskLoss(losses)
    masks = {} if masks is None else masks
    outputs = predict(model, X)
    results = {}
    for task, y in targets.items():
        out = outputs[task]
        rows = _labelled_rows(task, masks.get(task), out, len(y))
        if rows is not None:
            out, y = out.index_select(0, rows), y.index_select(0, rows.to(y.device))
        loss_fn = criterion.losses[task]
        acc = accuracy(out, y) if is_classification(loss_fn) else float("nan")
        results[task] = (float(loss_fn(out, y)), acc)
    return results


def check_model_tasks(model, criterion: MultiTaskLoss) -> None:
    """The model's tasks and the losses' tasks must be the same names."""
    if tuple(model.tasks) != tuple(criterion.tasks):
        raise ValueError(
            f"the losses name the tasks {list(criterion.tasks)} but the model has "
            f"{list(model.tasks)}; give one loss per head"
        )


def _split_tensors(split, criterion, device, dtype):
    """(X, {task: y}, masks) with X and every y as tensors on ``device`` (masks stay NumPy)."""
    X, targets, masks = split
    tensors = {}
    for task, y in targets.items():
        classification = is_classification(criterion.losses[task])
        X_t, tensors[task] = as_tensors((X, y), device, dtype, classification)
    X_t = torch.as_tensor(X if torch.is_tensor(X) else np.asarray(X))
    masks = {t: m.cpu().numpy() if torch.is_tensor(m) else m for t, m in masks.items()}
    return X_t.to(device=device, dtype=dtype), tensors, masks


def fit_multitask(
    model: MultiTaskModel,
    losses,
    weights,
    optimizer,
    train,
    val,
    epochs,
    batch_size,
    *,
    seed=0,
    device=None,
    progress=False,
) -> dict:
    """Train a ``MultiTaskModel`` on L = sum_t w_t L_t; return {task: History}.

    The twin of ``regcourse.numpy.fit_multitask``, argument for argument: ``train``
    and ``val`` are ``(X, {task: y})`` or ``(X, {task: y}, {task: mask})`` (NumPy
    arrays or tensors, cast to the model's dtype and moved to its device; masks
    are boolean, True = labelled). The mini-batch order comes from
    ``np.random.default_rng(seed)`` as on the NumPy side, and ``torch.manual_seed(seed)``
    seeds the model's own randomness. ``device`` moves the model first (None: it
    stays where it is). The model is left in evaluation mode.
    """
    if isinstance(losses, MultiTaskLoss):
        criterion = MultiTaskLoss(losses.losses, weights if weights is not None else losses.weights)
    else:
        criterion = MultiTaskLoss(losses, weights, tasks=getattr(model, "tasks", None))
    check_model_tasks(model, criterion)
    train = check_split("train", train, model.tasks)
    val = check_split("val", val, model.tasks)
    positive_int("epochs", epochs)
    positive_int("batch_size", batch_size)
    if device is not None:
        model.to(device)
    device, dtype = model_device_and_dtype(model)
    X, targets, masks = _split_tensors(train, criterion, device, dtype)
    val = _split_tensors(val, criterion, device, dtype)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    histories = {task: History() for task in model.tasks}
    for epoch in range(epochs):
        model.train()
        for batch in minibatches(len(X), batch_size, rng):
            index = torch.as_tensor(batch, device=device)
            optimizer.zero_grad()
            loss = criterion(
                model(X[index]),
                {t: y[index] for t, y in targets.items()},
                {t: m[batch] for t, m in masks.items()},
            )
            if criterion.task_losses:  # a batch in which no task has a label changes nothing
                loss.backward()
                optimizer.step()
        record_epoch(histories, model, criterion, (X, targets, masks), val)
        if progress:
            for task in model.tasks:
                report_progress(epoch, epochs, histories[task])
    model.eval()
    return histories


def record_epoch(histories, model, criterion, train, val) -> None:
    """Append every task's training and validation loss and accuracy to its History."""
    nan = (float("nan"), float("nan"))
    on_train = evaluate_multitask(model, criterion, *train)
    on_val = evaluate_multitask(model, criterion, *val)
    for task, history in histories.items():
        (train_loss, train_acc), (val_loss, val_acc) = (
            on_train.get(task, nan),
            on_val.get(task, nan),
        )
        history.record(train_loss, val_loss, train_acc, val_acc)
