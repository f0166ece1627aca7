"""Ridge, lasso and elastic net for linear models, with scikit-learn's objectives.

Each solver returns ``(coef, intercept)``; the intercept is never penalized
(the data are centred, the penalized problem is solved for ``coef``, and the
intercept is recovered as  b = mean(y) - mean(X) @ coef).

- Ridge       (``sklearn.linear_model.Ridge``):       ||y - Xw - b||^2 + alpha ||w||^2
- Lasso       (``sklearn.linear_model.Lasso``):       ||y - Xw - b||^2 / (2n) + alpha ||w||_1
- Elastic net (``sklearn.linear_model.ElasticNet``):  ||y - Xw - b||^2 / (2n)
                 + alpha * l1_ratio ||w||_1 + alpha * (1 - l1_ratio)/2 ||w||^2

Ridge has a closed form. Lasso and elastic net are solved by cyclic
coordinate descent: each coordinate in turn is set to its exact minimizer,

    w_j <- soft_threshold(x_j . r_j / n, alpha * l1_ratio)
           / (||x_j||^2 / n + alpha * (1 - l1_ratio)),

where r_j is the residual without feature j. Iterations stop when the duality
gap, an upper bound on (objective - optimum), falls below ``tol`` times the
objective of w = 0 — so the returned objective is within ``tol`` (relative) of
the optimum.

Standard tricks (those of glmnet and scikit-learn) make the descent fast without
changing what it converges to:

- the residual r = y - Xw is kept up to date: x_j . r_j = x_j . r + ||x_j||^2 w_j is one
  dot product per coordinate, and r changes only when w_j does;
- the squared column norms ||x_j||^2 are computed once;
- an active set: a sweep visits only the features that have ever been nonzero. A feature
  left out is at its optimum (w_j = 0) as long as |x_j . r| <= n * alpha * l1_ratio, the
  optimality condition of a zero. Every ``GAP_EVERY`` sweeps the duality gap is checked,
  and the features that break the condition join the active set: the gap needs the
  correlations X^T r anyway, and it certifies the whole problem, not only the active set;
- a path is solved from the largest alpha down, each fit started at the previous solution.
"""

from __future__ import annotations

import math

import numpy as np

from regcourse._checks import in_unit_interval, non_negative, positive_int


def _check_xy(X, y):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (samples, features), got shape {X.shape}")
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of targets, got shape {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if len(X) == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one sample and one feature, got shape {X.shape}")
    return X, y


def _centre(X, y):
    x_mean, y_mean = X.mean(axis=0), y.mean()
    return X - x_mean, y - y_mean, x_mean, y_mean


def _ridge_svd(Xc, yc, alpha: float):
    """Ridge on centred data through the thin SVD  Xc = U diag(s) V^T:

        w = V diag(s / (s^2 + alpha)) U^T yc.

    This never forms Xc^T Xc (whose condition number is the square of Xc's), so it
    stays accurate when n < p and alpha is tiny. Singular values below
    eps * max(n, p) * s_max are rank deficiency, not signal, and count as exactly 0
    (numpy.linalg.lstsq's default cut-off); with alpha = 0 this gives the
    minimum-norm least-squares solution.
    """
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    cutoff = np.finfo(np.float64).eps * max(Xc.shape) * (s[0] if len(s) else 0.0)
    kept = s > cutoff
    shrink = np.zeros_like(s)
    shrink[kept] = s[kept] / (s[kept] ** 2 + alpha)
    return Vt.T @ (shrink * (U.T @ yc))


def fit_ridge(X, y, alpha: float):
    """Ridge regression in closed form: w = (Xc^T Xc + alpha I)^{-1} Xc^T yc on centred data.

    Computed stably from the SVD of Xc (see ``_ridge_svd``); alpha = 0 gives the
    minimum-norm least-squares solution.
    """
    X, y = _check_xy(X, y)
    alpha = non_negative("alpha", alpha)
    Xc, yc, x_mean, y_mean = _centre(X, y)
    coef = _ridge_svd(Xc, yc, alpha)
    return coef, float(y_mean - x_mean @ coef)


def elastic_net_objective(X, y, coef, intercept, alpha, l1_ratio):
    """scikit-learn's elastic-net objective (lasso when l1_ratio = 1)."""
    residual = y - X @ coef - intercept
    return (
        residual @ residual / (2 * len(y))
        + alpha * l1_ratio * np.abs(coef).sum()
        + 0.5 * alpha * (1 - l1_ratio) * coef @ coef
    )


def _duality_gap(yc, coef, residual, correlation, l1, l2):
    """Duality gap of  ||r||^2/2 + l1 ||w||_1 + l2/2 ||w||^2  (the objective times n),
    as scikit-learn computes it; ``correlation`` is Xc^T r."""
    correlation = correlation - l2 * coef
    dual_norm = np.abs(correlation).max()
    scale = min(1.0, l1 / dual_norm) if dual_norm > 0 else 1.0
    r2 = residual @ residual
    return (
        0.5 * r2 * (1 + scale**2)
        + l1 * np.abs(coef).sum()
        - scale * (residual @ yc)
        + 0.5 * l2 * (1 + scale**2) * (coef @ coef)
    )


def _check_l1_weight(alpha: float, l1_ratio: float, n: int):
    """Refuse problems without an L1 term, pointing to the solver that handles them."""
    if alpha == 0:
        raise ValueError(
            "alpha must be > 0 for the lasso and elastic net, got alpha=0: with no penalty the "
            "problem is ordinary least squares; use fit_ridge(X, y, 0.0) (minimum-norm least "
            "squares), or fit_ridge with a tiny alpha"
        )
    if l1_ratio == 0:
        raise ValueError(
            f"l1_ratio must be > 0 for fit_elastic_net, got l1_ratio=0: with no L1 term the "
            f"problem is ridge; use fit_ridge(X, y, alpha * n_samples), here "
            f"fit_ridge(X, y, {alpha * n!r}) (fit_ridge's objective is 2 n times this one)"
        )


def _initial_coef(coef_init, n_features: int):
    """A float copy of ``coef_init`` (zeros if None), checked to hold one entry per feature."""
    if coef_init is None:
        return np.zeros(n_features)
    coef = np.array(coef_init, dtype=np.float64)
    if coef.shape != (n_features,):
        raise ValueError(
            f"coef_init must have shape ({n_features},) (one entry per feature), "
            f"got shape {coef.shape}"
        )
    return coef


GAP_EVERY = 5  # sweeps between two checks of the duality gap (a check costs about a sweep)


def fit_elastic_net(
    X,
    y,
    alpha: float,
    l1_ratio: float = 0.5,
    tol: float = 1e-10,
    max_iter: int = 100_000,
    coef_init=None,
):
    """Elastic net by cyclic coordinate descent (scikit-learn's ``ElasticNet`` objective).

    Returns ``(coef, intercept)``. ``coef_init`` warm-starts the descent (used by the paths).
    Needs alpha > 0 and l1_ratio > 0: without an L1 term the duality-gap stopping rule
    degenerates, and the problem is ridge (``fit_ridge``) or least squares anyway.
    A constant feature has coefficient 0 at the optimum (it is all zeros once centred).
    A sweep visits the active set; every ``GAP_EVERY`` sweeps the duality gap is checked and
    the features whose zero is not optimal join the active set (see the module docstring).
    Raises ``RuntimeError`` if the duality gap is not below ``tol`` after ``max_iter`` sweeps.
    """
    X, y = _check_xy(X, y)
    alpha = non_negative("alpha", alpha)
    l1_ratio = in_unit_interval("l1_ratio", l1_ratio)
    _check_l1_weight(alpha, l1_ratio, len(y))
    max_iter = positive_int("max_iter", max_iter)
    n, n_features = X.shape
    Xc, yc, x_mean, y_mean = _centre(X, y)
    l1, l2 = alpha * l1_ratio * n, alpha * (1 - l1_ratio) * n
    column_norms = (Xc**2).sum(axis=0)
    coef = _initial_coef(coef_init, n_features)
    coef[column_norms == 0] = 0.0  # constant features: the optimum, and never updated below
    residual = yc - Xc @ coef
    gap_tolerance = tol * (yc @ yc) / 2
    active = coef != 0  # the features a sweep visits: those ever nonzero ...
    x = list(np.ascontiguousarray(Xc.T))  # x[j] is feature j, contiguous in memory
    coef, column_norms = coef.tolist(), column_norms.tolist()  # Python floats: faster one by one
    sweeps = 0
    while True:
        w = np.array(coef)
        correlation = Xc.T @ residual  # x_j . r for every feature
        if _duality_gap(yc, w, residual, correlation, l1, l2) <= gap_tolerance:
            return w, float(y_mean - x_mean @ w)
        if sweeps == max_iter:
            raise RuntimeError(
                f"coordinate descent did not converge in {max_iter} sweeps; raise max_iter or tol"
            )
        active |= np.abs(correlation) > l1  # ... and those whose zero is not optimal
        features = np.flatnonzero(active).tolist()
        for _ in range(min(GAP_EVERY, max_iter - sweeps)):
            for j in features:
                old = coef[j]
                rho = np.dot(x[j], residual) + column_norms[j] * old  # x_j . r_j, r_j = r + x_j w_j
                coef[j] = math.copysign(max(abs(rho) - l1, 0.0), rho) / (column_norms[j] + l2)
                if coef[j] != old:
                    residual -= (coef[j] - old) * x[j]
            sweeps += 1


def fit_lasso(X, y, alpha: float, tol: float = 1e-10, max_iter: int = 100_000, coef_init=None):
    """Lasso (scikit-learn's ``Lasso`` objective): the elastic net with l1_ratio = 1."""
    return fit_elastic_net(X, y, alpha, 1.0, tol=tol, max_iter=max_iter, coef_init=coef_init)


def _check_alphas(alphas):
    alphas = np.asarray(alphas, dtype=np.float64)
    if alphas.ndim != 1 or len(alphas) == 0:
        raise ValueError(f"alphas must be a non-empty 1-D sequence, got shape {alphas.shape}")
    if (alphas < 0).any():
        raise ValueError(f"alphas must all be >= 0, got {alphas[alphas < 0]}")
    return alphas


def ridge_path(X, y, alphas):
    """Ridge coefficients for each alpha: an array of shape (len(alphas), n_features)."""
    return np.array([fit_ridge(X, y, a)[0] for a in _check_alphas(alphas)])


def elastic_net_path(X, y, alphas, l1_ratio: float = 0.5, tol: float = 1e-10):
    """Elastic-net coefficients for each alpha, shape (len(alphas), n_features).

    Solved from the largest alpha down, each fit warm-started at the previous one.
    """
    X, y = _check_xy(X, y)
    alphas = _check_alphas(alphas)
    coefs = np.zeros((len(alphas), X.shape[1]))
    coef = None
    for i in np.argsort(alphas)[::-1]:
        coef, _ = fit_elastic_net(X, y, alphas[i], l1_ratio, tol=tol, coef_init=coef)
        coefs[i] = coef
    return coefs


def lasso_path(X, y, alphas, tol: float = 1e-10):
    """Lasso coefficients for each alpha, shape (len(alphas), n_features)."""
    return elastic_net_path(X, y, alphas, 1.0, tol=tol)


def alpha_max(X, y, l1_ratio: float = 1.0) -> float:
    """The smallest alpha at which every lasso / elastic-net coefficient is exactly zero:
    max_j |x_j . (y - mean y)| / (n * l1_ratio)."""
    X, y = _check_xy(X, y)
    l1_ratio = in_unit_interval("l1_ratio", l1_ratio)
    if l1_ratio == 0:
        raise ValueError(
            "alpha_max needs l1_ratio > 0: ridge never sets coefficients exactly to zero"
        )
    Xc, yc, _, _ = _centre(X, y)
    return float(np.abs(Xc.T @ yc).max() / (len(y) * l1_ratio))
