"""Argument checks of multitask learning, shared by the NumPy and the PyTorch side.

Neither ``regcourse.numpy.multitask`` nor ``regcourse.torch.multitask`` imports the
other; both check their arguments here, so they accept and refuse the same things
with the same messages. Tasks are named by strings: a dict of heads gives the
names, a list of heads is named ``"0"``, ``"1"``, ... (as ``torch.nn.ModuleList``
names its entries).
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def task_names_and_heads(heads) -> dict:
    """``heads`` (a dict {name: head} or a list of heads) as a dict {name: head}, in order.

    Names must be non-empty strings without ".", which would make parameter names
    such as ``heads.a.b.weight`` ambiguous; there must be at least one task.
    """
    if isinstance(heads, dict):
        named = dict(heads)
    elif isinstance(heads, (list, tuple)):
        named = {str(i): head for i, head in enumerate(heads)}
    else:
        raise ValueError(
            f"heads must be a dict {{task name: module}} or a list of modules, "
            f"got {type(heads).__name__}"
        )
    if not named:
        raise ValueError("a multitask model needs at least one task: heads is empty")
    for name in named:
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"task names must be non-empty strings without '.', got {name!r}")
    return named


def per_task(what: str, values, tasks, allow_none: bool = False) -> dict:
    """``values`` (a dict {task: value} or a sequence in task order) as a dict over ``tasks``.

    A dict must name exactly the tasks; a sequence must have one entry per task.
    """
    tasks = list(tasks)
    if not tasks:
        raise ValueError(f"{what}: there must be at least one task, got none")
    if isinstance(values, dict):
        unknown = [t for t in values if t not in tasks]
        missing = [t for t in tasks if t not in values]
        if unknown or missing:
            raise ValueError(
                f"{what} must name exactly the tasks {tasks}: unknown {unknown}, missing {missing}"
            )
        return {t: values[t] for t in tasks}
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise ValueError(
            f"{what} must be a dict {{task: value}} or a sequence with one entry per task, "
            f"got {type(values).__name__}"
        )
    if len(values) != len(tasks):
        raise ValueError(
            f"{what} has {len(values)} entries but there are {len(tasks)} tasks {tasks}"
        )
    return dict(zip(tasks, values))


def check_task_weights(weights, tasks) -> dict:
    """The task weights w_t as a dict of floats: finite numbers >= 0, not all zero.

    ``None`` gives every task the weight 1.
    """
    tasks = list(tasks)
    if weights is None:
        return {t: 1.0 for t in tasks}
    weights = per_task("weights", weights, tasks)
    for task, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w):
            raise ValueError(f"the weight of task {task!r} must be a finite number, got {w!r}")
        if w < 0:
            raise ValueError(
                f"the weight of task {task!r} must be >= 0, got {w!r} (a negative weight "
                "would reward the model for doing that task badly)"
            )
    if all(w == 0 for w in weights.values()):
        raise ValueError("at least one task weight must be > 0, got all zero")
    return {t: float(w) for t, w in weights.items()}


def check_task_dict(what: str, values, tasks) -> dict:
    """A dict {task: value} whose keys are tasks of the model (a subset of them is allowed)."""
    if not isinstance(values, dict):
        raise ValueError(f"{what} must be a dict {{task: array}}, got {type(values).__name__}")
    unknown = [t for t in values if t not in list(tasks)]
    if unknown:
        raise ValueError(f"{what} names unknown tasks {unknown}; the tasks are {list(tasks)}")
    return values


def check_mask(task: str, mask, n: int) -> np.ndarray:
    """The labelled-examples mask of one task: a boolean array of length n."""
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (n,):
        raise ValueError(
            f"the mask of task {task!r} must be a boolean array of shape ({n},) (True where "
            f"the example has a label), got dtype {mask.dtype} and shape {mask.shape}"
        )
    return mask


def check_split(name: str, split, tasks) -> tuple:
    """A multitask split ``(X, targets)`` or ``(X, targets, masks)``, checked.

    ``targets`` is a dict {task: y} with every y of length len(X); ``masks``
    (optional) a dict {task: boolean array of length len(X)}, True where the task's
    label is known. A task without a mask is labelled on every example; a task
    without targets is not trained or measured on this split. The values of y where
    the mask is False are never read. Returns ``(X, targets, masks)`` with a mask for
    every task in ``targets``.
    """
    if not isinstance(split, (tuple, list)) or len(split) not in (2, 3):
        raise ValueError(
            f"{name} must be (X, {{task: y}}) or (X, {{task: y}}, {{task: mask}}), "
            f"got {type(split).__name__}"
            + (f" of length {len(split)}" if isinstance(split, (tuple, list)) else "")
        )
    X, targets = split[0], split[1]
    masks = split[2] if len(split) == 3 else {}
    n = len(X)
    if n == 0:
        raise ValueError(f"{name} is empty: X needs at least one example")
    targets = check_task_dict(f"{name}'s targets", targets, tasks)
    masks = check_task_dict(f"{name}'s masks", masks, tasks)
    if not targets:
        raise ValueError(f"{name} has no targets: give at least one task's labels")
    without_target = [t for t in masks if t not in targets]
    if without_target:
        raise ValueError(f"{name} has masks but no targets for the tasks {without_target}")
    checked = {}
    for task, y in targets.items():
        if len(y) != n:
            raise ValueError(
                f"{name}: X has {n} examples but the targets of task {task!r} have {len(y)}; "
                "give one target per example (mark missing labels with a mask)"
            )
        checked[task] = (
            check_mask(task, masks[task], n) if task in masks else np.ones(n, dtype=bool)
        )
        if not checked[task].any():
            raise ValueError(
                f"{name}: task {task!r} has no labelled example (its mask is all False)"
            )
    return X, targets, checked
