"""Ridge, lasso and elastic net against scikit-learn's solvers."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import ElasticNet, Lasso, Ridge

from regcourse import linear


def standardized(loader):
    X, y = loader(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y.astype(np.float64)


def correlated(seed=0):
    """Three groups of near-duplicate features (the elastic net's home ground)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((60, 3))
    X = np.repeat(z, 3, axis=1) + 0.05 * rng.standard_normal((60, 9))
    return X, z @ np.array([3.0, -2.0, 0.0]) + 0.5 * rng.standard_normal(60)


DATASETS = {
    "diabetes": standardized(load_diabetes),
    "breast_cancer": standardized(load_breast_cancer),
    "correlated": correlated(),
}


def assert_coef_close(ours, reference, rtol=1e-6):
    scale = max(np.abs(reference).max(), 1e-12)
    assert np.abs(ours - reference).max() <= rtol * scale, (ours, reference)


@pytest.mark.parametrize("data", DATASETS, ids=list(DATASETS))
@pytest.mark.parametrize("alpha", [0.0, 0.1, 10.0, 1000.0])
def test_ridge_equals_sklearn(data, alpha):
    X, y = DATASETS[data]
    coef, intercept = linear.fit_ridge(X, y, alpha)
    ref = Ridge(alpha=alpha, solver="svd").fit(X, y)
    assert_coef_close(coef, ref.coef_)
    assert intercept == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("data", DATASETS, ids=list(DATASETS))
@pytest.mark.parametrize("alpha", [0.01, 0.1, 1.0])
def test_lasso_equals_sklearn(data, alpha):
    X, y = DATASETS[data]
    coef, intercept = linear.fit_lasso(X, y, alpha)
    ref = Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(X, y)
    assert_coef_close(coef, ref.coef_)
    assert intercept == pytest.approx(ref.intercept_, rel=1e-6)
    np.testing.assert_array_equal(coef == 0, ref.coef_ == 0)  # the same features are exactly zero


@pytest.mark.parametrize("data", DATASETS, ids=list(DATASETS))
@pytest.mark.parametrize("alpha, l1_ratio", [(0.05, 0.5), (0.5, 0.2), (0.01, 0.9)])
def test_elastic_net_equals_sklearn(data, alpha, l1_ratio):
    X, y = DATASETS[data]
    coef, intercept = linear.fit_elastic_net(X, y, alpha, l1_ratio)
    ref = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000).fit(X, y)
    assert_coef_close(coef, ref.coef_)
    assert intercept == pytest.approx(ref.intercept_, rel=1e-6)


def test_objective_is_within_tolerance_of_the_optimum():
    X, y = DATASETS["breast_cancer"]
    coef, intercept = linear.fit_elastic_net(X, y, 0.01, 0.5)
    ref = ElasticNet(alpha=0.01, l1_ratio=0.5, tol=1e-15, max_iter=1_000_000).fit(X, y)
    ours = linear.elastic_net_objective(X, y, coef, intercept, 0.01, 0.5)
    best = linear.elastic_net_objective(X, y, ref.coef_, ref.intercept_, 0.01, 0.5)
    assert ours <= best * (1 + 1e-6)


def test_paths_match_single_fits_and_reach_zero():
    X, y = DATASETS["diabetes"]
    alphas = np.geomspace(1.0001 * linear.alpha_max(X, y), 1e-3 * linear.alpha_max(X, y), 12)
    path = linear.lasso_path(X, y, alphas)
    assert path.shape == (12, X.shape[1])
    assert not path[0].any()  # at alpha_max every coefficient is exactly zero
    assert np.count_nonzero(path[-1]) == X.shape[1]
    assert_coef_close(path[5], linear.fit_lasso(X, y, alphas[5])[0])
    enet = linear.elastic_net_path(X, y, alphas, l1_ratio=0.5)
    assert_coef_close(
        enet[3],
        ElasticNet(alpha=alphas[3], l1_ratio=0.5, tol=1e-14, max_iter=10**6).fit(X, y).coef_,
    )
    ridge = linear.ridge_path(X, y, [1.0, 100.0])
    assert np.abs(ridge[1]).sum() < np.abs(ridge[0]).sum()


def test_alpha_max_is_the_threshold_of_sparsity():
    X, y = DATASETS["diabetes"]
    a = linear.alpha_max(X, y)
    # (at a itself, rounding may leave 1e-14)
    assert not linear.fit_lasso(X, y, a * (1 + 1e-9))[0].any()
    assert linear.fit_lasso(X, y, 0.99 * a)[0].any()


@pytest.mark.parametrize(
    "fit",
    [linear.fit_ridge, linear.fit_lasso, lambda X, y, a: linear.fit_elastic_net(X, y, a, 0.5)],
    ids=["ridge", "lasso", "enet"],
)
def test_bad_input_raises(fit):
    X, y = DATASETS["diabetes"]
    with pytest.raises(ValueError, match="samples but y has"):
        fit(X, y[:-1], 0.1)
    with pytest.raises(ValueError, match="alpha"):
        fit(X, y, -1.0)
    with pytest.raises(ValueError, match="2-D"):
        fit(X[:, 0], y, 0.1)
    with pytest.raises(ValueError, match="1-D"):
        fit(X, y.reshape(-1, 1), 0.1)
    with pytest.raises(ValueError, match="at least one sample"):
        fit(X[:0], y[:0], 0.1)


def test_elastic_net_rejects_bad_l1_ratio_and_alphas():
    X, y = DATASETS["diabetes"]
    with pytest.raises(ValueError, match="l1_ratio"):
        linear.fit_elastic_net(X, y, 0.1, 1.2)
    with pytest.raises(ValueError, match="alphas"):
        linear.lasso_path(X, y, [0.1, -0.1])
    with pytest.raises(ValueError, match="l1_ratio > 0"):
        linear.alpha_max(X, y, 0.0)
    with pytest.raises(RuntimeError, match="did not converge"):
        linear.fit_lasso(X, y, 0.01, max_iter=1)


def wide_problem(seed=0):
    """More features than samples (25 x 70): X^T X is singular, its condition number huge."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((25, 70)), rng.standard_normal(25)


def ridge_by_svd(X, y, alpha):
    """The exact ridge solution from the SVD of the centred X (rank-deficient directions -> 0)."""
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    kept = s > 1e-12 * s[0]
    return Vt.T[:, kept] @ (s[kept] / (s[kept] ** 2 + alpha) * (U.T[kept] @ yc))


@pytest.mark.parametrize("alpha", [1e-13, 1e-10, 1e-6])
def test_ridge_is_accurate_with_more_features_than_samples_and_tiny_alpha(alpha):
    X, y = wide_problem()
    coef, intercept = linear.fit_ridge(X, y, alpha)
    assert_coef_close(coef, ridge_by_svd(X, y, alpha), rtol=1e-8)
    assert intercept == pytest.approx(y.mean() - X.mean(axis=0) @ coef)


def test_ridge_at_alpha_zero_is_minimum_norm_least_squares_when_wide():
    X, y = wide_problem(1)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    coef, _ = linear.fit_ridge(X, y, 0.0)
    assert_coef_close(coef, np.linalg.lstsq(Xc, yc, rcond=None)[0], rtol=1e-8)


@pytest.mark.parametrize("alpha", [0.1, 1.0, 100.0])
def test_ridge_equals_sklearn_with_more_features_than_samples(alpha):
    X, y = wide_problem(2)
    coef, intercept = linear.fit_ridge(X, y, alpha)
    ref = Ridge(alpha=alpha, solver="svd").fit(X, y)
    assert_coef_close(coef, ref.coef_, rtol=1e-8)
    assert intercept == pytest.approx(ref.intercept_, rel=1e-8, abs=1e-10)


def test_lasso_and_elastic_net_without_l1_term_are_refused_with_a_pointer():
    X, y = DATASETS["diabetes"]
    with pytest.raises(ValueError, match=r"alpha must be > 0.*least squares.*fit_ridge\(X, y, 0"):
        linear.fit_lasso(X, y, 0.0)
    with pytest.raises(ValueError, match=r"alpha must be > 0.*least squares"):
        linear.fit_elastic_net(X, y, 0.0, 0.5)
    with pytest.raises(ValueError, match=r"l1_ratio must be > 0.*ridge.*fit_ridge"):
        linear.fit_elastic_net(X, y, 0.1, 0.0)
    with pytest.raises(ValueError, match="l1_ratio must be > 0"):
        linear.elastic_net_path(X, y, [1.0, 0.1], l1_ratio=0.0)


def test_elastic_net_l1_ratio_zero_message_gives_the_equivalent_ridge_alpha():
    X, y = DATASETS["correlated"]
    alpha = 0.05
    with pytest.raises(ValueError, match="l1_ratio") as error:
        linear.fit_elastic_net(X, y, alpha, 0.0)
    ridge_alpha = alpha * len(y)
    assert f"fit_ridge(X, y, {ridge_alpha!r})" in str(error.value)
    # that ridge is the limit of the elastic net as l1_ratio -> 0
    near, _ = linear.fit_elastic_net(X, y, alpha, 1e-6)
    assert_coef_close(near, linear.fit_ridge(X, y, ridge_alpha)[0], rtol=1e-3)


@pytest.mark.parametrize(
    "fit",
    [linear.fit_lasso, lambda X, y, a, **kw: linear.fit_elastic_net(X, y, a, 0.5, **kw)],
    ids=["lasso", "enet"],
)
def test_warm_start_with_nonzero_coefficient_on_a_constant_column_converges(fit):
    X, y = DATASETS["diabetes"]
    X = np.column_stack([X, np.full(len(y), 3.0)])  # a constant feature: zero once centred
    coef_init = np.zeros(X.shape[1])
    coef_init[-1] = 5.0
    coef, intercept = fit(X, y, 0.1, coef_init=coef_init, max_iter=10_000)
    assert coef[-1] == 0.0
    cold, cold_intercept = fit(X, y, 0.1)
    assert_coef_close(coef, cold)
    assert intercept == pytest.approx(cold_intercept)


def test_coef_init_of_the_wrong_length_is_refused():
    X, y = DATASETS["diabetes"]
    with pytest.raises(ValueError, match=r"coef_init must have shape \(10,\)"):
        linear.fit_lasso(X, y, 0.1, coef_init=np.zeros(9))


# --- the fast coordinate descent against the textbook one ------------------------------


def textbook_elastic_net(X, y, alpha, l1_ratio, tol):
    """Plain cyclic coordinate descent: every feature in every sweep, the residual rebuilt
    around each coordinate, the duality gap after every sweep (regcourse's first solver)."""
    n, p = X.shape
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    l1, l2 = alpha * l1_ratio * n, alpha * (1 - l1_ratio) * n
    norms, coef, residual = (Xc**2).sum(axis=0), np.zeros(p), yc.copy()
    for _ in range(1_000_000):
        for j in range(p):
            residual += Xc[:, j] * coef[j]
            rho = Xc[:, j] @ residual
            coef[j] = np.sign(rho) * max(abs(rho) - l1, 0.0) / (norms[j] + l2)
            residual -= Xc[:, j] * coef[j]
        correlation = Xc.T @ residual - l2 * coef
        scale = min(1.0, l1 / np.abs(correlation).max())
        gap = (
            0.5 * (residual @ residual) * (1 + scale**2)
            + l1 * np.abs(coef).sum()
            - scale * (residual @ yc)
            + 0.5 * l2 * (1 + scale**2) * (coef @ coef)
        )
        if gap <= tol * (yc @ yc) / 2:
            return coef
    raise AssertionError("the textbook descent did not converge")


@pytest.mark.parametrize("data", DATASETS, ids=list(DATASETS))
@pytest.mark.parametrize("alpha, l1_ratio", [(0.01, 1.0), (0.3, 1.0), (0.05, 0.5), (0.5, 0.2)])
def test_active_set_descent_reaches_the_textbook_solution(data, alpha, l1_ratio):
    """Active set, gap every few sweeps, residual kept up to date: the same optimum, the same
    exact zeros, to 1e-10 once both are converged tightly (tol 1e-13); to 1e-8 at the default
    tol 1e-10, which is what that tolerance guarantees for either solver."""
    X, y = DATASETS[data]
    for tol, rtol in [(1e-13, 1e-10), (1e-10, 1e-8)]:
        ours, _ = linear.fit_elastic_net(X, y, alpha, l1_ratio, tol=tol)
        reference = textbook_elastic_net(X, y, alpha, l1_ratio, tol)
        assert_coef_close(ours, reference, rtol=rtol)
        np.testing.assert_array_equal(ours == 0, reference == 0)


def suppressor_problem(seed=0, n=200):
    """y = z; x_0 = z + u, x_1 = u and x_2 = v, with u and v orthogonal to z. At w = 0,
    x_1 is uncorrelated with y, yet the least-squares fit is y = x_0 - x_1: x_1 earns its
    weight only once x_0 is in (a "suppressor" variable)."""
    rng = np.random.default_rng(seed)
    z, u, v = rng.standard_normal((3, n))
    z, u, v = z - z.mean(), u - u.mean(), v - v.mean()
    u, v = u - (u @ z) / (z @ z) * z, v - (v @ z) / (z @ z) * z
    return np.column_stack([z + u, u, v]), z


def test_a_feature_whose_zero_stops_being_optimal_joins_the_active_set():
    X, y = suppressor_problem()
    alpha = 0.1
    first_active = np.abs(X.T @ y) > alpha * len(y)  # X and y are centred
    assert first_active.tolist() == [True, False, False]  # x_1 starts outside
    coef, _ = linear.fit_lasso(X, y, alpha)
    assert coef[1] < -0.5 and coef[2] == 0.0  # ... and ends far from 0; x_2 stays out
    assert_coef_close(coef, textbook_elastic_net(X, y, alpha, 1.0, 1e-10), rtol=1e-8)
    ref = Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(X, y)
    assert_coef_close(coef, ref.coef_)


def test_warm_start_at_the_solution_returns_it_without_a_sweep():
    X, y = DATASETS["breast_cancer"]
    coef, intercept = linear.fit_elastic_net(X, y, 0.01, 0.5)
    again, again_intercept = linear.fit_elastic_net(X, y, 0.01, 0.5, coef_init=coef, max_iter=1)
    np.testing.assert_array_equal(again, coef)  # its duality gap is already below tol
    assert again_intercept == intercept


def test_path_is_the_chain_of_warm_started_fits():
    X, y = DATASETS["breast_cancer"]
    alphas = linear.alpha_max(X, y, 0.5) * np.geomspace(1.0, 1e-2, 8)
    path = linear.elastic_net_path(X, y, alphas[::-1], l1_ratio=0.5)[::-1]  # any order in
    coef = None
    for alpha, row in zip(alphas, path):
        coef, _ = linear.fit_elastic_net(X, y, alpha, 0.5, coef_init=coef)
        np.testing.assert_array_equal(row, coef)


@pytest.mark.parametrize("every", [1, 2, 50])
def test_the_gap_check_period_changes_the_cost_not_the_solution(monkeypatch, every):
    X, y = DATASETS["diabetes"]
    default, _ = linear.fit_lasso(X, y, 0.05)
    monkeypatch.setattr(linear, "GAP_EVERY", every)
    coef, _ = linear.fit_lasso(X, y, 0.05)
    assert_coef_close(coef, default, rtol=1e-8)
    np.testing.assert_array_equal(coef == 0, default == 0)


def test_paths_check_their_input():
    X, y = DATASETS["diabetes"]
    with pytest.raises(ValueError, match=r"alpha must be > 0.*least squares"):
        linear.lasso_path(X, y, [1.0, 0.0])
    with pytest.raises(ValueError, match="l1_ratio"):
        linear.elastic_net_path(X, y, [1.0], l1_ratio=1.5)
    with pytest.raises(ValueError, match="samples but y has"):
        linear.lasso_path(X, y[:-1], [1.0])
    with pytest.raises(ValueError, match="2-D"):
        linear.lasso_path(X[:, 0], y, [1.0])
