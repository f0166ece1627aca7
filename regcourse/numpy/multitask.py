"""Multitask learning (Caruana 1997): one shared trunk, one head per task, a weighted loss.

A ``MultiTaskModel`` computes a shared representation h = trunk(x) and one output
per task, out_t = head_t(h). A ``MultiTaskLoss`` adds the tasks' losses with
weights w_t >= 0,

    L = sum_t w_t L_t(out_t, y_t),

where L_t is averaged over the examples that *have* a label for task t (a mask
says which), so a task with few labels contributes only where it is labelled.
Backward by hand: dL/d out_t = w_t dL_t/d out_t goes through each head, and the
trunk receives the *sum* of the heads' input gradients,

    dL/dh = sum_t (d out_t / dh)^T dL/d out_t,

which is where the tasks share what they learn. ``fit_multitask`` trains such a
model on several targets and returns one ``History`` per task.
"""

from __future__ import annotations

import numpy as np

from regcourse._checks import positive_int
from regcourse._multitask import check_split, check_task_dict, check_task_weights, per_task
from regcourse._multitask import task_names_and_heads as _task_names_and_heads
from regcourse.history import History
from regcourse.numpy.core import DTYPE, Module, check_no_shared_modules
from regcourse.numpy.random import manual_seed
from regcourse.numpy.train import accuracy, check_device, predict
from regcourse.training import is_classification, minibatches, report_progress


class MultiTaskModel(Module):
    """A shared ``trunk`` and one head per task: forward returns {task: head_t(trunk(x))}.

    ``heads`` is a dict {task name: module} or a list of modules (named "0", "1", ...).
    Parameters are named ``trunk.*`` and ``heads.<task>.*``, as in the torch twin
    (which keeps its heads in a ``torch.nn.ModuleDict``). A parameter reached from
    two places (say two heads that share one ``Parameter``) is listed once by
    ``parameters()``, and its gradient is the sum of both uses. One module
    instance may appear only once (the NumPy layers keep one cache each).
    """

    def __init__(self, trunk: Module, heads):
        named = _task_names_and_heads(heads)
        for name, module in [("trunk", trunk), *named.items()]:
            if not isinstance(module, Module):
                raise ValueError(
                    f"{'the trunk' if name == 'trunk' else f'the head of task {name!r}'} must be "
                    f"a regcourse.numpy Module, got {type(module).__name__}"
                )
        self.trunk = trunk
        self.heads = named
        self.tasks = tuple(named)
        check_no_shared_modules(self, "MultiTaskModel")

    def named_children(self):
        yield "trunk", self.trunk
        for task, head in self.heads.items():
            yield f"heads.{task}", head

    def forward(self, x) -> dict:
        h = self.trunk(np.asarray(x, dtype=DTYPE))
        return {task: head(h) for task, head in self.heads.items()}

    def backward(self, douts: dict):
        """``douts`` = {task: dL/d out_t}; returns dL/dx. A task left out (or None) adds 0."""
        douts = check_task_dict("douts", douts, self.tasks)
        dh = None
        for task, dout in douts.items():
            if dout is None:
                continue
            d = self.heads[task].backward(dout)
            dh = d if dh is None else dh + d
        if dh is None:
            raise ValueError("backward needs the gradient of at least one task, got none")
        return self.trunk.backward(dh)


class MultiTaskLoss:
    """L = sum_t w_t L_t(out_t[labelled], y_t[labelled]); ``backward()`` gives {t: dL/d out_t}.

    ``losses``: a dict {task: loss} or a list in the model's task order, each a loss
    of this package (``CrossEntropyLoss`` for a class target, ``MSELoss`` for a real
    one); ``weights``: the w_t >= 0, a dict or a list (None: all 1). ``tasks`` names
    them when both are lists (default "0", "1", ...).

    ``loss(outputs, targets, masks=None)``: ``outputs`` and ``targets`` are dicts by
    task; a task without targets contributes nothing; ``masks[t]`` (a boolean array)
    marks the examples labelled for task t, and L_t is the mean over those only. A
    task with no labelled example in the batch contributes 0 and gets no gradient.
    The task losses of the last call are kept in ``task_losses``.
    """

    def __init__(self, losses, weights=None, tasks=None):
        tasks = list(losses) if isinstance(losses, dict) else tasks
        if tasks is None:
            tasks = [str(i) for i in range(len(losses))] if hasattr(losses, "__len__") else []
        self.losses = per_task("losses", losses, tasks)
        for task, loss in self.losses.items():
            if not (callable(loss) and hasattr(loss, "backward")):
                raise ValueError(
                    f"the loss of task {task!r} must be a loss with backward() "
                    f"(CrossEntropyLoss, MSELoss), got {type(loss).__name__}"
                )
        self.tasks = tuple(self.losses)
        self.weights = check_task_weights(weights, self.tasks)
        self.task_losses: dict = {}
        self._grads = None

    def forward(self, outputs: dict, targets: dict, masks: dict | None = None) -> float:
        check_task_dict("outputs", outputs, self.tasks)
        check_task_dict("targets", targets, self.tasks)
        masks = check_task_dict("masks", {} if masks is None else masks, self.tasks)
        missing = [t for t in targets if t not in outputs]
        if missing:
            raise ValueError(f"targets given for tasks {missing} that have no outputs")
        total, self.task_losses, self._grads = 0.0, {}, {}
        for task, y in targets.items():
            out, y = np.asarray(outputs[task], dtype=DTYPE), np.asarray(y)
            rows = _labelled_rows(task, masks.get(task), len(out), len(y))
            if rows.size == 0:
                continue
            loss_fn = self.losses[task]
            value = loss_fn(out[rows], y[rows])
            grad = np.zeros_like(out)
            grad[rows] = self.weights[task] * loss_fn.backward()  # backward at once: a loss
            self.task_losses[task], self._grads[task] = value, grad  # object may serve 2 tasks
            total += self.weights[task] * value
        return total

    def __call__(self, outputs, targets, masks=None):
        return self.forward(outputs, targets, masks)

    def backward(self, dout: float = 1.0) -> dict:
        """{task: dL/d out_t} for the tasks with labelled examples in the last call."""
        if self._grads is None:
            raise RuntimeError("MultiTaskLoss.backward called before forward: compute the loss")
        if np.ndim(dout) != 0:
            raise ValueError(
                f"dout must be a scalar (d total / d loss), got shape {np.shape(dout)}"
            )
        return {task: float(dout) * grad for task, grad in self._grads.items()}

    def __repr__(self):
        parts = ", ".join(
            f"{t}: {self.weights[t]:g} x {type(loss).__name__}" for t, loss in self.losses.items()
        )
        return f"MultiTaskLoss({parts})"


def _labelled_rows(task: str, mask, n_out: int, n_y: int) -> np.ndarray:
    """Indices of the labelled rows of one task (all rows when ``mask`` is None)."""
    if n_y != n_out:
        raise ValueError(f"task {task!r}: {n_out} outputs but {n_y} targets")
    if mask is None:
        return np.arange(n_out)
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (n_out,):
        raise ValueError(
            f"the mask of task {task!r} must be a boolean array of shape ({n_out},), "
            f"got dtype {mask.dtype} and shape {mask.shape}"
        )
    return np.flatnonzero(mask)


def evaluate_multitask(model: MultiTaskModel, losses, X, targets: dict, masks=None) -> dict:
    """{task: (loss, accuracy)} on the labelled examples of each task, in evaluation mode.

    ``losses`` as for ``MultiTaskLoss``; accuracy is nan for a regression task.
    """
    criterion = losses if isinstance(losses, MultiTaskLoss) else MultiTaskLoss(losses)
    masks = {} if masks is None else masks
    outputs = predict(model, X)
    results = {}
    for task, y in targets.items():
        rows = _labelled_rows(task, masks.get(task), len(outputs[task]), len(y))
        out, y = outputs[task][rows], np.asarray(y)[rows]
        loss_fn = criterion.losses[task]
        acc = accuracy(out, y) if is_classification(loss_fn) else float("nan")
        results[task] = (loss_fn(out, y), acc)
    return results


def check_model_tasks(model, criterion: MultiTaskLoss) -> None:
    """The model's tasks and the losses' tasks must be the same names."""
    if tuple(model.tasks) != tuple(criterion.tasks):
        raise ValueError(
            f"the losses name the tasks {list(criterion.tasks)} but the model has "
            f"{list(model.tasks)}; give one loss per head"
        )


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

    ``train`` and ``val`` are ``(X, {task: y})`` or ``(X, {task: y}, {task: mask})``:
    every y has one entry per example, and a boolean mask (True = labelled) marks
    a task whose labels are missing for part of the data; its y is never read
    where the mask is False. ``losses`` and ``weights`` as for ``MultiTaskLoss``
    (weights None: all 1). Each epoch visits all examples in random mini-batches
    (``regcourse.training.minibatches``, seeded by ``seed`` as in ``fit``); a task
    contributes to a batch through its labelled examples there. After each epoch
    every task's loss and accuracy are measured, in evaluation mode, on its
    labelled training and validation examples (a task without validation targets
    records nan there). ``device`` must be None or "cpu" (the signature is the
    torch twin's). The model is left in evaluation mode.
    """
    if isinstance(losses, MultiTaskLoss):
        criterion = MultiTaskLoss(losses.losses, weights if weights is not None else losses.weights)
    else:
        criterion = MultiTaskLoss(losses, weights, tasks=getattr(model, "tasks", None))
    check_model_tasks(model, criterion)
    X, targets, masks = check_split("train", train, model.tasks)
    X_val, val_targets, val_masks = check_split("val", val, model.tasks)
    positive_int("epochs", epochs)
    positive_int("batch_size", batch_size)
    check_device(device)
    check_no_shared_modules(model)
    X, X_val = np.asarray(X, dtype=DTYPE), np.asarray(X_val, dtype=DTYPE)
    targets = {t: np.asarray(y) for t, y in targets.items()}
    rng = np.random.default_rng(seed)
    manual_seed(seed)
    histories = {task: History() for task in model.tasks}
    for epoch in range(epochs):
        model.train()
        for batch in minibatches(len(X), batch_size, rng):
            optimizer.zero_grad()
            outputs = model(X[batch])
            criterion(
                outputs,
                {t: y[batch] for t, y in targets.items()},
                {t: m[batch] for t, m in masks.items()},
            )
            grads = criterion.backward()
            if grads:  # a batch in which no task has a label changes nothing
                model.backward(grads)
                optimizer.step()
        record_epoch(
            histories, model, criterion, (X, targets, masks), (X_val, val_targets, val_masks)
        )
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
