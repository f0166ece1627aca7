"""The standard task, one recipe per regularizer, and the scoreboard that compares them.

Every chapter measures its regularizer in its own way. To compare them with
each other, the book also runs all of them on **one standard task**, with the
same data, the same baseline network, the same training budget and the same
seeds:

- :class:`StandardTask`: MNIST-1D with 1,000 training sequences (a small
  training set, so that the plain MLP overfits: about 100% training and under
  50% test accuracy), a 40-100-100-10 ReLU MLP, Adam at learning rate 0.01 in
  batches of 50 for 60 epochs, the weights of the last epoch.
- :class:`Recipe`: one regularizer applied to that task: a function that
  trains a model for one ``setting`` (say, a penalty strength) and one seed,
  and the grid of settings to choose from.
- :func:`tune`: picks a recipe's setting by its mean **validation** accuracy
  over the task's tuning seed(s), which are not the scoring seeds; the test
  set is never looked at.
- :func:`run_scoreboard`: trains every recipe at its chosen setting on the
  scoring seeds and reports test accuracy, the train - test gap, and the
  paired difference to the baseline with a confidence interval
  (:func:`regcourse.experiments.paired_difference`).

Each chapter adds its recipe with :func:`register`; the recipes below are the
ones of the chapters written so far. Everything runs on the torch side (on
the device :func:`regcourse.torch.default_device` picks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from regcourse.data import Splits, load_mnist1d
from regcourse.experiments import (
    NBSP,
    PairedDifference,
    Table,
    by_profile,
    format_mean_std,
    paired_difference,
)

__all__ = [
    "StandardTask",
    "Recipe",
    "Tuning",
    "Scoreboard",
    "baseline_mlp",
    "paper_cnn",
    "register",
    "registered",
    "get_recipe",
    "tune",
    "score",
    "run_scoreboard",
]


# ---------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StandardTask:
    """The task every recipe is scored on. The defaults are the book's standard task.

    - ``n_train`` training sequences of MNIST-1D (a seeded, stratified subset of
      the official 4,000; the seed of a run also picks its subset), validated on
      the 1,000 extra validation sequences and tested on the official 1,000;
    - the training budget: ``epochs`` epochs of Adam (``lr``) in batches of
      ``batch_size``, the same for every recipe;
    - ``seeds``: the scoring seeds, shared by all recipes so that differences are
      paired; ``tuning_seeds``: the seeds used to choose settings, kept apart. Under
      the quick profile (:func:`regcourse.experiments.run_profile`) five scoring
      seeds and one tuning seed, so that the scoreboard of every recipe runs in
      about a minute; under the full profile ten and three.
    """

    n_train: int = 1000
    epochs: int = 60
    batch_size: int = 50
    lr: float = 1e-2
    seeds: tuple[int, ...] = field(
        default_factory=lambda: by_profile((0, 1, 2, 3, 4), tuple(range(10)))
    )
    tuning_seeds: tuple[int, ...] = field(
        default_factory=lambda: by_profile((100,), (100, 101, 102))
    )

    def __post_init__(self):
        for name in ("n_train", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        for name in ("seeds", "tuning_seeds"):
            seeds = getattr(self, name)
            if len(seeds) < 1 or any(not isinstance(s, int) or s < 0 for s in seeds):
                raise ValueError(
                    f"{name} must be a non-empty tuple of integers >= 0, got {seeds!r}"
                )
        if set(self.seeds) & set(self.tuning_seeds):
            raise ValueError(
                f"seeds and tuning_seeds must not overlap (a setting chosen on a seed would "
                f"then be scored on it), got {self.seeds} and {self.tuning_seeds}"
            )

    def splits(self, seed: int) -> Splits:
        """The data of one run: ``n_train`` training sequences chosen by ``seed``."""
        return load_mnist1d(n_train=self.n_train, seed=seed)

    def fit(self, model, seed: int, optimizer=None, loss_fn=None, **fit_options):
        """Train ``model`` with the task's budget.

        ``optimizer`` defaults to Adam at the task's learning rate on all
        parameters, ``loss_fn`` to cross-entropy (a recipe may smooth its
        labels); ``fit_options`` go to :func:`regcourse.torch.fit` (e.g.
        ``penalty=rt.L2(1e-3)``, ``transform=...``, ``mixup=...``).

        A scoreboard run needs only the trained model, not its learning curves.
        So unless ``early_stopping`` is among the options (it needs the
        validation loss of every epoch), the epochs are run with fit's own
        ``train_one_epoch``, in the same mini-batch order and from the same
        random state as ``fit``, without its end-of-epoch evaluations: the same
        weights, in about 20% less time. Returns fit's ``History``, or ``None``.
        """
        import regcourse.torch as rt

        splits = self.splits(seed)
        model.to(rt.default_device())
        if optimizer is None:
            optimizer = rt.Adam(model.parameters(), lr=self.lr)
        if loss_fn is None:
            loss_fn = rt.CrossEntropyLoss()
        if "early_stopping" in fit_options:
            return rt.fit(
                model,
                loss_fn,
                optimizer,
                splits.train,
                splits.val,
                epochs=self.epochs,
                batch_size=self.batch_size,
                seed=seed,
                **fit_options,
            )
        self._train_without_curves(model, loss_fn, optimizer, splits.train, seed, **fit_options)
        return None

    def _train_without_curves(self, model, loss_fn, optimizer, train, seed, **fit_options):
        """``regcourse.torch.fit``'s loop (same seeds, same batches) minus the evaluations."""
        import torch

        from regcourse.torch.train import as_tensors, model_device_and_dtype, train_one_epoch

        device, dtype = model_device_and_dtype(model)
        X, y = as_tensors(train, device, dtype, classification=True)
        rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        for _ in range(self.epochs):
            train_one_epoch(model, loss_fn, optimizer, X, y, self.batch_size, rng, **fit_options)
        model.eval()

    def describe(self) -> str:
        """The task in three short lines, for the page that shows the results."""
        return (
            f"MNIST-1D, {self.n_train:,} training sequences\n"
            f"Adam (lr {self.lr:g}), batches of {self.batch_size}, {self.epochs} epochs\n"
            f"scoring seeds {list(self.seeds)}, tuning seeds {list(self.tuning_seeds)}"
        )


def baseline_mlp(
    hidden: int = 100,
    dropout: float = 0.0,
    batch_norm: bool = False,
    input_noise: float = 0.0,
    hidden_noise: float = 0.0,
):
    """The baseline network: 40 -> hidden -> hidden -> 10 with ReLU (the paper's MLP).

    ``dropout`` adds ``Dropout(p)`` after each hidden ReLU; ``batch_norm`` adds
    ``BatchNorm1d`` between each hidden ``Linear`` and its ReLU; ``input_noise``
    and ``hidden_noise`` add ``GaussianNoise(sigma)`` to the input and after
    each hidden ReLU.
    """
    import regcourse.torch as rt

    layers = [rt.GaussianNoise(input_noise)] if input_noise > 0 else []
    for n_in in (40, hidden):
        layers.append(rt.Linear(n_in, hidden))
        if batch_norm:
            layers.append(rt.BatchNorm1d(hidden))
        layers.append(rt.ReLU())
        if hidden_noise > 0:
            layers.append(rt.GaussianNoise(hidden_noise))
        if dropout > 0:
            layers.append(rt.Dropout(dropout))
    layers.append(rt.Linear(hidden, 10))
    return rt.Sequential(*layers)


def paper_cnn(channels: int = 25, length: int = 40):
    """The MNIST-1D paper's small CNN: three convolutions with stride 2, then a linear layer.

    (N, 40) -> (N, 1, 40) -> Conv1d(1, c, 5, stride 2, padding 1) -> (N, c, 19)
    -> Conv1d(c, c, 3, 2, 1) -> (N, c, 10) -> Conv1d(c, c, 3, 2, 1) -> (N, c, 5)
    -> flatten -> Linear(5c, 10), with ReLU after every convolution.
    """
    import regcourse.torch as rt

    layers = [rt.Unflatten(1, (1, length))]
    n_in = 1
    for kernel_size in (5, 3, 3):
        layers += [rt.Conv1d(n_in, channels, kernel_size, stride=2, padding=1), rt.ReLU()]
        n_in = channels
        length = (length + 2 - kernel_size) // 2 + 1
    layers += [rt.Flatten(), rt.Linear(channels * length, 10)]
    return rt.Sequential(*layers)


# ---------------------------------------------------------------------------
# Recipes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """One regularizer, applied to the standard task.

    - ``train(task, setting, seed)`` builds a model (seeded with ``seed``),
      trains it with the task's budget and returns it;
    - ``grid``: the settings :func:`tune` chooses from, on validation data
      (``(None,)`` when there is nothing to tune);
    - ``setting_name``: what a setting is, e.g. "λ" or "p";
    - ``chapter``: the chapter that teaches the technique.
    """

    name: str
    train: Callable
    grid: tuple = (None,)
    setting_name: str = ""
    chapter: str = ""

    def __post_init__(self):
        if not self.name:
            raise ValueError("a recipe needs a name")
        if not callable(self.train):
            raise ValueError(
                f"train must be a function (task, setting, seed) -> model, "
                f"got {type(self.train).__name__}"
            )
        if len(self.grid) == 0:
            raise ValueError(
                f"recipe {self.name!r}: grid is empty; use (None,) for nothing to tune"
            )

    def describe(self, setting) -> str:
        """The setting in words, e.g. "λ = 0.003"; empty when there is nothing to tune."""
        if setting is None:
            return ""
        text = f"{setting:g}" if isinstance(setting, (int, float)) else str(setting)
        return f"{self.setting_name}{NBSP}={NBSP}{text}" if self.setting_name else text


_REGISTRY: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    """Add a recipe to the scoreboard (names are unique); returns it."""
    if not isinstance(recipe, Recipe):
        raise ValueError(f"register takes a Recipe, got {type(recipe).__name__}")
    if recipe.name in _REGISTRY:
        raise ValueError(f"a recipe named {recipe.name!r} is already registered")
    _REGISTRY[recipe.name] = recipe
    return recipe


def registered() -> list[Recipe]:
    """All registered recipes, in the order they were registered (the baseline first)."""
    return list(_REGISTRY.values())


def get_recipe(name: str) -> Recipe:
    """The registered recipe called ``name``."""
    if name not in _REGISTRY:
        raise ValueError(f"no recipe named {name!r}; registered: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def _seeded(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def _train_mlp(
    task, seed, dropout=0.0, batch_norm=False, penalty=None, input_noise=0.0, hidden_noise=0.0
):
    _seeded(seed)
    model = baseline_mlp(
        dropout=dropout, batch_norm=batch_norm, input_noise=input_noise, hidden_noise=hidden_noise
    )
    task.fit(model, seed, penalty=penalty)
    return model


def _train_l2(task, lam, seed):
    import regcourse.torch as rt

    return _train_mlp(task, seed, penalty=rt.L2(lam))


def _train_l1(task, lam, seed):
    import regcourse.torch as rt

    return _train_mlp(task, seed, penalty=rt.L1(lam))


def _train_cnn(task, setting, seed):
    _seeded(seed)
    model = paper_cnn()
    task.fit(model, seed)
    return model


def _train_early_stopping(task, patience, seed):
    from regcourse.training import EarlyStopping

    _seeded(seed)
    model = baseline_mlp()
    task.fit(model, seed, early_stopping=EarlyStopping(patience=patience))
    return model


def _train_augmented(task, max_shift, seed):
    from regcourse.augment import Compose, Scale, Shift

    _seeded(seed)
    model = baseline_mlp()
    task.fit(model, seed, transform=Compose(Shift(max_shift), Scale(0.8, 1.2)))
    return model


def _train_label_smoothing(task, eps, seed):
    import regcourse.torch as rt

    _seeded(seed)
    model = baseline_mlp()
    task.fit(model, seed, loss_fn=rt.CrossEntropyLoss(label_smoothing=eps))
    return model


def _train_mixup(task, alpha, seed):
    from regcourse.training import Mixup

    _seeded(seed)
    model = baseline_mlp()
    task.fit(model, seed, mixup=Mixup(alpha))
    return model


def _train_ensemble(task, k, seed):
    # k baseline MLPs on the seed's training set, from the initial weights of
    # member_seeds(seed, k) (member 0 is the baseline's own network), each trained by
    # task.fit (the same mini-batch order); the module outputs the log of their mean softmax
    from regcourse.ensemble import member_seeds, torch_module

    members = []
    for member_seed in member_seeds(seed, k):
        _seeded(member_seed)
        members.append(baseline_mlp())
        task.fit(members[-1], seed)
    return torch_module(members)


BASELINE = "baseline MLP"

register(
    Recipe(BASELINE, lambda task, setting, seed: _train_mlp(task, seed), chapter="Overfitting")
)
register(
    Recipe(
        "L2 penalty",
        _train_l2,
        grid=(3e-4, 1e-3, 3e-3),
        setting_name="λ",
        chapter="L2 regularization and weight decay",
    )
)
register(
    Recipe(
        "L1 penalty",
        _train_l1,
        grid=(3e-5, 1e-4, 3e-4),
        setting_name="λ",
        chapter="L1 regularization and sparsity",
    )
)
register(
    Recipe(
        "dropout",
        lambda task, p, seed: _train_mlp(task, seed, dropout=p),
        grid=(0.1, 0.2, 0.3),
        setting_name="p",
        chapter="Dropout",
    )
)
register(
    Recipe(
        "batch norm",
        lambda task, setting, seed: _train_mlp(task, seed, batch_norm=True),
        chapter="Batch normalization",
    )
)
register(Recipe("CNN (parameter sharing)", _train_cnn, chapter="Parameter sharing: convolutions"))
register(
    Recipe(
        "early stopping",
        _train_early_stopping,
        grid=(5, 20),
        setting_name="patience",
        chapter="Early stopping",
    )
)
register(
    Recipe(
        "input noise",
        lambda task, sigma, seed: _train_mlp(task, seed, input_noise=sigma),
        grid=(0.1, 0.3, 0.5),
        setting_name="σ",
        chapter="Noise injection",
    )
)
register(
    Recipe(
        "hidden-unit noise",
        lambda task, sigma, seed: _train_mlp(task, seed, hidden_noise=sigma),
        grid=(0.1, 0.3, 1.0),
        setting_name="σ",
        chapter="Noise injection",
    )
)
register(
    Recipe(
        "augmentation (shift + scale)",
        _train_augmented,
        grid=(2, 4, 6),
        setting_name="max shift",
        chapter="Data augmentation",
    )
)
register(
    Recipe(
        "label smoothing",
        _train_label_smoothing,
        grid=(0.05, 0.1, 0.2),
        setting_name="ε",
        chapter="Label smoothing and mixup",
    )
)
register(
    Recipe(
        "mixup",
        _train_mixup,
        grid=(0.2, 0.4, 1.0),
        setting_name="α",
        chapter="Label smoothing and mixup",
    )
)
register(
    Recipe(
        "ensemble of 3 MLPs",
        _train_ensemble,
        grid=(3,),  # not tuned: k is a budget (k runs), not a strength
        setting_name="k",
        chapter="Ensembles and bagging",
    )
)


# ---------------------------------------------------------------------------
# Tuning and scoring
# ---------------------------------------------------------------------------


def _accuracies(model, splits: Splits) -> dict[str, float]:
    """Training, validation and test accuracy of a trained model, in evaluation mode."""
    import regcourse.torch as rt
    from regcourse.torch.train import as_tensors, model_device_and_dtype

    device, dtype = model_device_and_dtype(model)
    loss_fn = rt.CrossEntropyLoss()
    result = {}
    for name, split in zip(("train", "val", "test"), splits):
        X, y = as_tensors(split, device, dtype, classification=True)
        result[f"{name}_acc"] = rt.evaluate(model, loss_fn, X, y)[1]
    return result


def _run(recipe: Recipe, task: StandardTask, setting, seed: int) -> dict[str, float]:
    model = recipe.train(task, setting, seed)
    return _accuracies(model, task.splits(seed))


@dataclass
class Tuning:
    """The outcome of :func:`tune`: validation accuracy of every setting, and the best one."""

    recipe: Recipe
    settings: tuple
    val_acc: np.ndarray  # (n_settings, n_tuning_seeds)
    best: object

    def table(self) -> Table:
        rows = [
            [self.recipe.describe(s) or "—", format_mean_std(acc)]
            for s, acc in zip(self.settings, self.val_acc)
        ]
        return Table([self.recipe.setting_name or "setting", "validation accuracy"], rows)


def tune(recipe: Recipe, task: StandardTask | None = None) -> Tuning:
    """Choose a recipe's setting by mean validation accuracy over ``task.tuning_seeds``.

    Ties go to the earlier setting in the grid. A recipe with a single setting
    is not run at all.
    """
    task = task or StandardTask()
    if len(recipe.grid) == 1:
        return Tuning(recipe, recipe.grid, np.full((1, 0), np.nan), recipe.grid[0])
    val_acc = np.array(
        [
            [_run(recipe, task, setting, seed)["val_acc"] for seed in task.tuning_seeds]
            for setting in recipe.grid
        ]
    )
    best = recipe.grid[int(np.argmax(val_acc.mean(axis=1)))]
    return Tuning(recipe, tuple(recipe.grid), val_acc, best)


def score(recipe: Recipe, setting, task: StandardTask | None = None) -> dict[str, np.ndarray]:
    """Train the recipe at ``setting`` on every scoring seed; accuracies and gap per seed.

    Returns arrays (one entry per seed, in ``task.seeds`` order) for
    ``train_acc``, ``val_acc``, ``test_acc`` and ``gap`` (= train - test accuracy).
    """
    task = task or StandardTask()
    runs = [_run(recipe, task, setting, seed) for seed in task.seeds]
    result = {key: np.array([run[key] for run in runs]) for key in runs[0]}
    result["gap"] = result["train_acc"] - result["test_acc"]
    return result


@dataclass
class Scoreboard:
    """Every recipe at its tuned setting, on the same seeds; the baseline is the first row."""

    task: StandardTask
    tunings: list[Tuning]
    results: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [tuning.recipe.name for tuning in self.tunings]

    def difference(self, name: str, metric: str = "test_acc") -> PairedDifference:
        """Paired difference recipe - baseline over the scoring seeds."""
        baseline = self.results[self.names[0]][metric]
        return paired_difference(baseline, self.results[name][metric])

    def table(self) -> Table:
        """One row per recipe: setting, train and test accuracy, gap, Δ test vs the baseline."""
        header = [
            "recipe",
            "setting",
            "train acc. (%)",
            "test acc. (%)",
            "gap (points)",
            "Δ test vs baseline (points, 95% CI)",
        ]
        rows = []
        for tuning in self.tunings:
            name = tuning.recipe.name
            result = self.results[name]
            if name == self.names[0]:
                delta = "—"
            else:
                delta = self.difference(name).format("{:+.1f}", scale=100)
            rows.append(
                [
                    name,
                    tuning.recipe.describe(tuning.best) or "—",
                    format_mean_std(result["train_acc"], "{:.1f}", scale=100),
                    format_mean_std(result["test_acc"], "{:.1f}", scale=100),
                    format_mean_std(result["gap"], "{:.1f}", scale=100),
                    delta,
                ]
            )
        return Table(header, rows)


def run_scoreboard(recipes=None, task: StandardTask | None = None) -> Scoreboard:
    """Tune every recipe on validation data, then score it on the task's seeds.

    ``recipes`` defaults to all registered ones; the first is the baseline that
    the others are compared with.
    """
    task = task or StandardTask()
    recipes = registered() if recipes is None else list(recipes)
    if not recipes:
        raise ValueError("no recipes to score")
    board = Scoreboard(task, [tune(recipe, task) for recipe in recipes])
    for tuning in board.tunings:
        board.results[tuning.recipe.name] = score(tuning.recipe, tuning.best, task)
    return board
