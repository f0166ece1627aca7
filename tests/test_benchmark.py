"""Tests for regcourse.benchmark: the standard task, recipes, tuning and the scoreboard."""

import numpy as np
import pytest
import torch

import regcourse.torch as rt
from regcourse import benchmark as bm

# A tiny version of the standard task, so each test trains in well under a second.
TINY = bm.StandardTask(n_train=100, epochs=2, batch_size=50, seeds=(0, 1), tuning_seeds=(7, 8))


def test_standard_task_defaults_are_the_books():
    task = bm.StandardTask()
    assert (task.n_train, task.epochs, task.batch_size, task.lr) == (1000, 60, 50, 1e-2)
    assert len(task.seeds) >= 5 and not set(task.seeds) & set(task.tuning_seeds)
    assert "1,000 training sequences" in task.describe()


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"n_train": 0}, "n_train"),
        ({"epochs": 1.5}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"lr": 0}, "lr"),
        ({"seeds": ()}, "seeds"),
        ({"tuning_seeds": (-1,)}, "tuning_seeds"),
        ({"seeds": (0, 1), "tuning_seeds": (1, 2)}, "overlap"),
    ],
)
def test_standard_task_rejects_bad_settings(kwargs, word):
    with pytest.raises(ValueError, match=word):
        bm.StandardTask(**kwargs)


def test_task_splits_follow_the_seed_and_keep_val_and_test_fixed():
    a, b = TINY.splits(0), TINY.splits(1)
    assert len(a.train[0]) == 100
    assert not np.array_equal(a.train[0], b.train[0])
    np.testing.assert_array_equal(a.val[0], b.val[0])
    np.testing.assert_array_equal(a.test[0], b.test[0])


def test_models_have_the_papers_shapes():
    mlp, cnn = bm.baseline_mlp(), bm.paper_cnn()
    x = torch.zeros(3, 40)
    assert mlp(x).shape == (3, 10) and cnn(x).shape == (3, 10)
    n_mlp = sum(p.numel() for p in mlp.parameters())
    n_cnn = sum(p.numel() for p in cnn.parameters())
    assert n_mlp == 40 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10
    assert n_cnn == (25 * 5 + 25) + 2 * (25 * 25 * 3 + 25) + (125 * 10 + 10)
    assert any(isinstance(m, rt.BatchNorm1d) for m in bm.baseline_mlp(batch_norm=True))
    assert any(isinstance(m, rt.Dropout) for m in bm.baseline_mlp(dropout=0.3))


def test_the_chapters_recipes_are_registered_baseline_first():
    names = [recipe.name for recipe in bm.registered()]
    assert names[0] == bm.BASELINE
    for name in (
        "L2 penalty",
        "L1 penalty",
        "dropout",
        "batch norm",
        "CNN (parameter sharing)",
        "early stopping",
        "input noise",
        "hidden-unit noise",
        "augmentation (shift + scale)",
        "label smoothing",
        "mixup",
        "ensemble of 3 MLPs",
    ):
        assert name in names
    assert bm.get_recipe("dropout").grid == (0.1, 0.2, 0.3)
    with pytest.raises(ValueError, match="no recipe named"):
        bm.get_recipe("magic")


def test_register_rejects_duplicates_and_non_recipes():
    with pytest.raises(ValueError, match="already registered"):
        bm.register(bm.Recipe(bm.BASELINE, lambda task, setting, seed: None))
    with pytest.raises(ValueError, match="Recipe"):
        bm.register("dropout")


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"name": ""}, "name"),
        ({"train": 3}, "function"),
        ({"grid": ()}, "grid"),
    ],
)
def test_recipe_rejects_bad_definitions(kwargs, word):
    definition = {"name": "x", "train": lambda task, setting, seed: None, **kwargs}
    with pytest.raises(ValueError, match=word):
        bm.Recipe(**definition)


def test_recipe_describes_its_setting():
    assert bm.get_recipe("L2 penalty").describe(0.003) == "λ\u00a0=\u00a00.003"  # no-break
    assert bm.get_recipe(bm.BASELINE).describe(None) == ""


def test_task_fit_without_curves_gives_fits_weights():
    import regcourse.torch as rt

    torch.manual_seed(0)
    lean = bm.baseline_mlp(dropout=0.2)
    assert TINY.fit(lean, seed=3) is None
    torch.manual_seed(0)
    full = bm.baseline_mlp(dropout=0.2)
    splits = TINY.splits(3)
    rt.fit(
        full,
        rt.CrossEntropyLoss(),
        rt.Adam(full.parameters(), lr=TINY.lr),
        splits.train,
        splits.val,
        epochs=TINY.epochs,
        batch_size=TINY.batch_size,
        seed=3,
    )
    assert all(torch.equal(p, q) for p, q in zip(lean.parameters(), full.parameters()))
    assert not lean.training


def test_task_fit_with_early_stopping_returns_the_history():
    from regcourse.training import EarlyStopping

    torch.manual_seed(0)
    history = TINY.fit(bm.baseline_mlp(), seed=0, early_stopping=EarlyStopping(patience=1))
    assert history is not None and history.epochs >= 1


@pytest.mark.parametrize(
    "name",
    [
        "early stopping",
        "input noise",
        "hidden-unit noise",
        "augmentation (shift + scale)",
        "label smoothing",
        "mixup",
    ],
)
def test_the_training_procedure_recipes_train(name):
    recipe = bm.get_recipe(name)
    result = bm.score(recipe, recipe.grid[0], TINY)
    assert result["test_acc"].shape == (2,) and np.all(result["test_acc"] > 0.05)


def test_the_ensemble_recipe_averages_k_networks_the_first_the_baselines():
    import regcourse.torch as rt
    from regcourse.ensemble import predict_proba

    recipe = bm.get_recipe("ensemble of 3 MLPs")
    assert recipe.grid == (3,) and recipe.describe(3) == "k\u00a0=\u00a03"
    ensemble = recipe.train(TINY, 2, 1)
    baseline = bm.get_recipe(bm.BASELINE).train(TINY, None, 1)
    assert len(ensemble.members) == 2 and not ensemble.training
    first, second = (list(m.parameters()) for m in ensemble.members)
    assert all(torch.equal(p, q) for p, q in zip(first, baseline.parameters()))
    assert not torch.equal(first[0], second[0])  # another initialization
    X = torch.tensor(TINY.splits(1).test[0], dtype=torch.float32)
    mean = np.mean([predict_proba(m, X) for m in ensemble.members], axis=0)
    np.testing.assert_allclose(torch.exp(rt.predict(ensemble, X)).numpy(), mean, atol=1e-5)
    result = bm.score(recipe, 2, TINY)
    assert result["test_acc"].shape == (2,) and np.all(result["test_acc"] > 0.05)


def test_a_recipe_run_is_repeatable():
    recipe = bm.get_recipe("dropout")
    first = bm.score(recipe, 0.2, TINY)
    second = bm.score(recipe, 0.2, TINY)
    for key in ("train_acc", "val_acc", "test_acc", "gap"):
        np.testing.assert_array_equal(first[key], second[key])
    assert first["test_acc"].shape == (2,)
    np.testing.assert_allclose(first["gap"], first["train_acc"] - first["test_acc"])


def test_tune_picks_the_setting_with_the_best_validation_accuracy():
    seen = []

    def train(task, setting, seed):
        seen.append((setting, seed))
        torch.manual_seed(seed)
        model = bm.baseline_mlp()
        if setting == "broken":  # a model that always predicts class 0
            for p in model.parameters():
                torch.nn.init.zeros_(p)
        else:
            task.fit(model, seed)
        return model

    recipe = bm.Recipe("test recipe", train, grid=("broken", "trained"))
    tuning = bm.tune(recipe, TINY)
    assert tuning.best == "trained"
    assert tuning.val_acc.shape == (2, 2)
    assert {seed for _, seed in seen} == set(TINY.tuning_seeds)  # never a scoring seed
    assert "validation accuracy" in str(tuning.table())


def test_tune_does_not_train_a_recipe_without_a_grid():
    def train(task, setting, seed):
        raise AssertionError("nothing to tune: tune must not train")

    tuning = bm.tune(bm.Recipe("fixed", train), TINY)
    assert tuning.best is None


def test_scoreboard_pairs_every_recipe_with_the_baseline():
    recipes = [
        bm.get_recipe(bm.BASELINE),
        bm.get_recipe("L2 penalty"),
        bm.get_recipe("CNN (parameter sharing)"),
    ]
    small_grid = bm.Recipe("L2, small grid", recipes[1].train, grid=(1e-3, 1e-1), setting_name="λ")
    board = bm.run_scoreboard([recipes[0], small_grid, recipes[2]], TINY)
    assert board.names == [bm.BASELINE, "L2, small grid", "CNN (parameter sharing)"]
    diff = board.difference("CNN (parameter sharing)")
    expected = (
        board.results["CNN (parameter sharing)"]["test_acc"]
        - board.results[bm.BASELINE]["test_acc"]
    )
    assert diff.n == 2 and diff.mean == pytest.approx(expected.mean())
    table = board.table()
    assert len(table.rows) == 3 and table.rows[0][-1] == "—"
    assert table.rows[1][1].replace("\u00a0", " ") in ("λ = 0.001", "λ = 0.1")
    with pytest.raises(ValueError, match="no recipes"):
        bm.run_scoreboard([], TINY)


def test_the_models_run_forward_and_backward_on_the_meta_device():
    for model in (bm.baseline_mlp(dropout=0.2, batch_norm=True), bm.paper_cnn()):
        model.to("meta")
        out = model(torch.zeros(4, 40, device="meta"))
        out.sum().backward()
        assert out.shape == (4, 10) and out.device.type == "meta"


def test_plot_scoreboard_draws_every_recipe():
    import matplotlib.pyplot as plt

    from regcourse.plots import plot_scoreboard

    recipes = [bm.get_recipe(bm.BASELINE), bm.get_recipe("batch norm")]
    board = bm.run_scoreboard(recipes, TINY)
    fig, (left, right) = plot_scoreboard(board)
    rows = {t.get_text(): t.get_position()[1] for t in left.get_yticklabels()}
    assert set(rows) == {bm.BASELINE, "batch norm"}
    assert rows[bm.BASELINE] > rows["batch norm"]  # the baseline on top
    assert len(right.lines) >= 2  # the zero line and one interval
    plt.close(fig)
