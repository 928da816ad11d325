"""Gaussian processes (brms's ``gp``): ``gp(x, ...)`` exact or Hilbert-space approximate
(``k``, ``c``), with ``sdgp`` (class ``sdgp``), ``lscale`` (class ``lscale``, brms's data-tuned
``inv_gamma`` default) and standard-normal ``zgp``.

The data are :class:`brmc.bases.GaussianProcess`'s (exact against brms's ``standata``).  An
approximate GP adds ``Xgp @ (sqrt(spd(slambda, sdgp, lscale)) * zgp)`` (:func:`sqrt_spd`), an exact one
``cholesky(K) @ zgp`` with ``K`` brms's exponentiated-quadratic covariance (``+ 1e-12`` on the
diagonal), at the unique points, gathered to the rows (``Jgp``) and weighted by a ``by``
variable (``Cgp``).  The draws are ``sdgp_gptimes``, ``lscale_gptimes`` and ``zgp_gptimes[k]``.

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("accel ~ gp(times, k = 20, c = 5/4)"),
    ...                           brmc.datasets.load("mcycle"), brmc.get_family("gaussian"))
    >>> [(t.labels, t.basis.blocks[0].Xgp.shape) for t in md.predictors["mu"].parts["gp"]]
    [(['gptimes'], (94, 20))]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.linalg import solve_triangular
import pymc as pm
import pytensor.tensor as pt

from .. import naming
from ..bases import GaussianProcess, GPBlock, spd_exp_quad  # noqa: F401  (spd_exp_quad: the example)
from ..errors import DataError, FormulaError
from ..formula import CallTerm
from ..graph import parameter
from .base import DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext, TermKind, prior_row, student_t

if TYPE_CHECKING:
    import xarray as xr

    from ..data import LinearPredictor

_OPTIONS = ("k", "c", "by", "scale", "gr")


def _option(term: CallTerm, name: str, tokens: list) -> Any:
    text = "".join(t.text for t in tokens)
    if name == "by" and len(tokens) == 1 and tokens[0].kind == "name":
        return tokens[0].text.strip("`")
    if name in {"scale", "gr"} and text in {"TRUE", "FALSE", "T", "F"}:
        return text.startswith("T")
    try:
        value = float(Fraction(text))  # 5/4 as brms's users write it
    except (ValueError, ZeroDivisionError):
        raise FormulaError(f"The argument {name} = {text} of {term} is not one brmc can read.") from None
    return int(value) if name == "k" else value


@dataclass
class GPTerm:
    """One ``gp()`` term of a predictor: its number ``i`` (brms's ``sdgp_<i>``), labels (one per GP:
    ``gptimes``, ``gpcravengenderboy``) and data."""

    term: CallTerm
    number: int
    basis: GaussianProcess

    @property
    def labels(self) -> list[str]:
        by = [self.basis.by] if self.basis.by else []
        label = "gp" + naming.brms_rename("".join(self.basis.terms + by))
        return [label + ("" if b.level is None else naming.brms_rename(str(b.level))) for b in self.basis.blocks]

    @property
    def exact(self) -> bool:
        return self.basis.k is None


def _term(term: CallTerm, number: int, ctx: DataContext) -> GPTerm:
    covariates, options = [], {}
    for arg in term.args:
        toks = list(arg.tokens)
        if len(toks) >= 3 and toks[0].kind == "name" and toks[1].text == "=":
            if toks[0].text not in _OPTIONS:
                raise FormulaError(f"gp() takes the arguments {', '.join(_OPTIONS)} in brmc, not {toks[0].text!r} "
                                   f"(in {term}).")
            options[toks[0].text] = _option(term, toks[0].text, toks[2:])
        elif len(toks) == 1 and toks[0].kind == "name" and not options:
            covariates.append(toks[0].text.strip("`"))
        else:
            raise FormulaError(f"The covariates of {term} must be column names given before its options, not {arg!r}.")
    if not covariates:
        raise FormulaError(f"{term} has no covariate.")
    return GPTerm(term, number, GaussianProcess(ctx.frame, covariates, **options))


def _gather(block: GPBlock, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's unique point of the GP and its weight (0 for rows the GP leaves out)."""
    groups = block.groups if block.groups is not None else np.arange(block.Xgp.shape[0])
    index, weight = np.zeros(n, dtype=np.int64), np.zeros(n)
    rows = np.arange(n) if block.rows is None else block.rows
    index[rows] = groups
    weight[rows] = 1.0 if block.weights is None else block.weights
    return index, weight


def sqrt_spd(slambda: np.ndarray, sdgp: Any, lscale: Any, exp: Any) -> Any:
    """``sqrt(spd_exp_quad(slambda, sdgp, lscale))`` of an isotropic GP, on the log scale: where the
    density underflows (a long ``lscale``), its root and gradient stay finite (``exp``: ``np.exp``
    for draws with ``sdgp``, ``lscale`` of shape (draws, 1), ``pt.exp`` in the graph).

    Example:
        >>> s = np.array([[0.5], [30.0]])
        >>> np.allclose(sqrt_spd(s, 2.0, 0.5, np.exp), np.sqrt(spd_exp_quad(s, 2.0, 0.5)))
        True
    """
    D = slambda.shape[1]
    return sdgp * (np.sqrt(2 * np.pi) * lscale) ** (D / 2) * exp(-0.25 * lscale**2 * (slambda**2).sum(axis=1))


def _sq_distances(points: np.ndarray, others: np.ndarray | None = None) -> np.ndarray:
    """Squared distances between ``points`` and ``others`` (the points themselves when None)."""
    others = points if others is None else others
    return ((points[:, None, :] - others[None, :, :]) ** 2).sum(axis=2)


def exp_quad(d2: Any, sdgp: Any, lscale: Any, exp: Any) -> Any:
    """brms's exponentiated-quadratic covariance ``sdgp^2 exp(-d2 / (2 lscale^2))`` of squared
    distances ``d2``, with ``exp`` NumPy's or PyTensor's (the model's and the draws' one formula)."""
    return sdgp**2 * exp(-0.5 * d2 / lscale**2)


class GaussianProcesses(TermKind):
    """The kind ``gp``: every ``gp()`` term of a predictor."""

    name = "gp"
    calls = ("gp",)

    def data(self, terms: list[CallTerm], ctx: DataContext) -> list[GPTerm] | None:
        out = [_term(t, i + 1, ctx) for i, t in enumerate(terms)]
        for t in out:
            if not t.basis.iso:
                raise FormulaError(f"{t.term}: non-isotropic GPs (iso = FALSE) are not supported yet.")
        return out or None

    def structure(self, part: list[GPTerm]) -> Any:
        return [(t.exact, [b.Xgp.shape for b in t.basis.blocks]) for t in part]

    def prior_rows(self, lp: LinearPredictor, part: list[GPTerm], ctx: PriorContext) -> list[dict]:
        dp = naming.table_dpar(lp.dpar)
        rows = [prior_row("", "lscale", dpar=dp, lb="0"), prior_row(student_t(0, ctx.scale), "sdgp", dpar=dp, lb="0")]
        for t in part:
            rows += [prior_row(p, "lscale", coef=c, dpar=dp) for c, p in zip(t.labels, t.basis.lscale_dists())]
            rows += [prior_row("", "sdgp", coef=c, dpar=dp) for c in t.labels]
        return rows

    def slots(self, lp: LinearPredictor, part: list[GPTerm]) -> list[ParamSlot]:
        dp, sfx = naming.table_dpar(lp.dpar), lp.suffix
        out = []
        for t in part:
            for j, label in enumerate(t.labels):
                out.append(ParamSlot(f"sdgp{sfx}_{t.number}", j, "sdgp", label, "", dp, lb=0.0))
                out.append(ParamSlot(f"lscale{sfx}_{t.number}", j, "lscale", label, "", dp, lb=0.0))
        return out

    def data_values(self, lp: LinearPredictor, part: list[GPTerm]) -> dict[str, np.ndarray]:
        sfx, values = lp.suffix, {}
        n = len(lp.population.X)
        for t in part:
            for j, block in enumerate(t.basis.blocks):
                ij = f"{sfx}_{t.number}_{j + 1}"
                values[f"Jgp{ij}"], values[f"Cgp{ij}"] = _gather(block, n)
                values[f"Xgp{ij}"] = _sq_distances(block.Xgp) if t.exact else block.Xgp
        return values

    def graph(self, lp: LinearPredictor, part: list[GPTerm], ctx: GraphContext) -> list[tuple]:
        """Per GP ``(values at its unique points, each row's point, each row's weight)``."""
        sfx, out = lp.suffix, []
        for t in part:
            K = len(t.basis.blocks)
            sdgp_name, lscale_name = f"sdgp{sfx}_{t.number}", f"lscale{sfx}_{t.number}"
            ctx.params[sdgp_name] = sdgp = parameter(sdgp_name, (K,), *ctx.bounds(sdgp_name))
            ctx.params[lscale_name] = lscale = parameter(lscale_name, (K,), *ctx.bounds(lscale_name))
            for j, block in enumerate(t.basis.blocks):
                ij = f"{sfx}_{t.number}_{j + 1}"
                X = pm.Data(f"Xgp{ij}", ctx.values[f"Xgp{ij}"])
                zgp = pm.Normal(f"zgp{ij}", 0.0, 1.0, shape=(block.Xgp.shape[0 if t.exact else 1],))
                if t.exact:
                    cov = exp_quad(X, sdgp[j], lscale[j], pt.exp) + 1e-12 * pt.eye(block.Xgp.shape[0])
                    values = pt.linalg.cholesky(cov) @ zgp
                else:
                    values = X @ (sqrt_spd(block.slambda, sdgp[j], lscale[j], pt.exp) * zgp)
                out.append((values, pm.Data(f"Jgp{ij}", ctx.values[f"Jgp{ij}"]),
                            pm.Data(f"Cgp{ij}", ctx.values[f"Cgp{ij}"])))
        return out

    def add(self, eta: Any, contribution: list[tuple]) -> Any:
        """``eta + Cgp * gp[..., Jgp]`` for each GP: its values at the unique points, gathered to the rows."""
        for values, index, weight in contribution:
            eta = eta + weight * values[..., index]
        return eta

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: list[GPTerm]) -> dict[str, dict[str, np.ndarray]]:
        sfx, out = lp.suffix, {"sdgp": {}, "lscale": {}, "zgp": {}}
        for t in part:
            sdgp, lscale = raw[f"sdgp{sfx}_{t.number}"].values, raw[f"lscale{sfx}_{t.number}"].values
            for j, label in enumerate(t.labels):
                out["sdgp"][f"sdgp{sfx}_{label}"] = sdgp[..., j]
                out["lscale"][f"lscale{sfx}_{label}"] = lscale[..., j]
                zgp = raw[f"zgp{sfx}_{t.number}_{j + 1}"].values
                out["zgp"] |= {f"zgp{sfx}_{label}[{k + 1}]": zgp[..., k] for k in range(zgp.shape[-1])}
        return out

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: list[GPTerm]) -> dict[str, np.ndarray]:
        sfx, out = lp.suffix, {}
        for t in part:
            for cls in ("sdgp", "lscale"):
                out[f"{cls}{sfx}_{t.number}"] = np.stack([posterior[f"{cls}{sfx}_{c}"].values for c in t.labels], -1)
            for j in range(len(t.labels)):
                out[f"zgp{sfx}_{t.number}_{j + 1}"] = _zgp(posterior, sfx, t, j)
        return out

    def needed(self, lp: LinearPredictor, part: list[GPTerm], kept: dict[int, list[int]]) -> tuple[list[str], list[str]]:
        return list(dict.fromkeys(n for t in part for n in t.term.variables)), []

    def rows(self, lp: LinearPredictor, part: list[GPTerm], ctx: RowsContext) -> list[list[tuple]]:
        """Per GP ``(its data at the rows' unique points, point index, weight, new)``; ``new`` says
        the points are not the training ones (an exact GP is then drawn given its training values)."""
        n = len(lp.population.X) if ctx.newdata is None else len(ctx.newdata)
        out = []
        for t in part:
            blocks = t.basis.blocks if ctx.newdata is None else t.basis.predict(ctx.new)
            out.append([(b.Xgp, *_gather(b, n), ctx.newdata is not None) for b in blocks])
        return out

    def draws(self, lp: LinearPredictor, part: list[GPTerm], rows: list, ctx: DrawsContext) -> list[tuple]:
        sfx, out = lp.suffix, []
        for t, blocks in zip(part, rows):
            for j, (block, (X, index, weight, new)) in enumerate(zip(t.basis.blocks, blocks)):
                label = t.labels[j]
                sdgp = ctx.pick(ctx.posterior[f"sdgp{sfx}_{label}"].values)
                lscale = ctx.pick(ctx.posterior[f"lscale{sfx}_{label}"].values)
                zgp = ctx.pick(_zgp(ctx.posterior, sfx, t, j))
                if t.exact and new:
                    if ctx.rng is None:
                        raise DataError(f"The exact Gaussian process {t.term} is drawn at new rows: it needs random numbers (rng=).")
                    values = np.stack([exact_gp_at_new_points(block.Xgp, X, s, ls, z, ctx.rng)
                                       for s, ls, z in zip(sdgp, lscale, zgp)])
                elif t.exact:
                    d2, eye = _sq_distances(X), np.eye(len(X))
                    values = np.stack([_cholesky(exp_quad(d2, s, ls, np.exp) + 1e-12 * eye) @ z
                                       for s, ls, z in zip(sdgp, lscale, zgp)])
                else:
                    values = (sqrt_spd(block.slambda, sdgp[:, None], lscale[:, None], np.exp) * zgp) @ X.T
                out.append((values, index, weight))
        return out


#: brms's nugget of exact GPs at new points (``prepare_predictions``: 1e-8 there, 1e-12 in the model)
NEW_POINTS_NUGGET = 1e-8


def exact_gp_at_new_points(old: np.ndarray, new: np.ndarray, sdgp: float, lscale: float, zgp: np.ndarray,
                           rng: np.random.Generator) -> np.ndarray:
    """One draw of an exact GP at ``new`` points given its values ``L zgp`` at the training points
    ``old``, as brms's ``.predictor_gp_new``: from the normal with mean ``k' K^-1 f`` and covariance
    ``K_new - k' K^-1 k`` (both with brms's nugget of 1e-8 on the diagonal).  Where brms stops with
    "not positive definite" (a new point on a training point), the symmetric square root draws.

    Parameters
    ----------
    old, new : numpy.ndarray
        The training and the new points (scaled as the GP's data), (points, dimensions).
    sdgp, lscale : float
        The draw's GP standard deviation and length-scale.
    zgp : numpy.ndarray
        The draw's standard-normal weights of the training points.
    rng : numpy.random.Generator
        The random numbers of the new values.

    Returns
    -------
    numpy.ndarray
        The GP's values at ``new``.

    Examples
    --------
    >>> old = np.array([[0.0], [1.0]])
    >>> at_old = exact_gp_at_new_points(old, old, 1.0, 0.5, np.array([0.3, -1.0]), np.random.default_rng(1))
    >>> np.round(at_old, 3)  # at the training points: the training values L zgp
    array([ 0.3 , -0.95])
    """
    def cov(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return exp_quad(_sq_distances(a, b), sdgp, lscale, np.exp)

    L = _cholesky(cov(old, old) + NEW_POINTS_NUGGET * np.eye(len(old)))
    k = cov(old, new)
    v = solve_triangular(L, k, lower=True)  # L^-1 k
    mean = v.T @ zgp  # k' K^-1 (L zgp) = (L^-1 k)' zgp
    C = cov(new, new) - v.T @ v + NEW_POINTS_NUGGET * np.eye(len(new))
    # a new point at (or next to) a training point leaves C ~ 0 up to rounding: the symmetric square
    # root with rounding's negative eigenvalues at 0 draws from the same normal where a Cholesky fails
    w, V = np.linalg.eigh((C + C.T) / 2)
    return mean + V @ (np.sqrt(np.clip(w, 0.0, None)) * rng.standard_normal(len(new)))


def _cholesky(K: np.ndarray) -> np.ndarray:
    """The Cholesky factor of ``K``.  Where LAPACK finds ``K`` (its diagonal nugget of 1e-12 or 1e-8
    included) not positive definite by rounding although the sampler's own factorisation held it
    (close points, a long length-scale), a jitter of 1e-10, then 1e-8, of the mean variance is added,
    which moves the values by far less than their posterior spread; NaN if that fails too."""
    scale = float(np.mean(np.diag(K)))
    for jitter in (0.0, 1e-10, 1e-8):
        try:
            return np.linalg.cholesky(K + jitter * scale * np.eye(len(K)))
        except np.linalg.LinAlgError:
            continue
    return np.full_like(K, np.nan)


def _zgp(posterior: xr.Dataset, sfx: str, t: GPTerm, j: int) -> np.ndarray:
    """The draws of a GP's ``zgp``: (chain, draw, K)."""
    block = t.basis.blocks[j]
    size = block.Xgp.shape[0 if t.exact else 1]
    return np.stack([posterior[f"zgp{sfx}_{t.labels[j]}[{k + 1}]"].values for k in range(size)], axis=-1)


KIND = GaussianProcesses()
