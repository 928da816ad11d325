"""Gaussian processes (brms's ``gp``): ``gp(x, ...)`` exact or Hilbert-space approximate
(``k``, ``c``), with ``sdgp`` (class ``sdgp``), ``lscale`` (class ``lscale``, brms's data-tuned
``inv_gamma`` default) and standard-normal ``zgp``.

The data are :class:`brmc.bases.GaussianProcess`'s (exact against brms's ``standata``).  An
approximate GP adds ``Xgp @ (sqrt(spd(slambda, sdgp, lscale)) * zgp)`` (:func:`sqrt_spd`), an exact one
``cholesky(K) @ zgp`` with ``K`` brms's exponentiated-quadratic covariance (``+ 1e-12`` on the
diagonal), at the unique points, gathered to the rows (``Jgp``) and weighted by a ``by``
variable (``Cgp``).  The draws are ``sdgp_gptimes``, ``lscale_gptimes`` and ``zgp_gptimes[k]``.
With ``iso = FALSE`` each covariate has its own ``lscale`` (``lscale_gpx1x2x1``, ``lscale_gpx1x2x2``):
the spectral density and the covariance scale each dimension by it, as brms's ``spd_cov_exp_quad``
and ``gp`` with a vector ``lscale``.

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("accel ~ gp(times, k = 20, c = 5/4)"),
    ...                           brmc.datasets.load("mcycle"), brmc.get_family("gaussian"))
    >>> [(t.labels, t.basis.blocks[0].Xgp.shape) for t in md.predictors["mu"].parts["gp"]]
    [(['gptimes'], (94, 20))]
"""

from __future__ import annotations

import itertools
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

_OPTIONS = ("k", "c", "by", "cov", "scale", "gr", "cmc", "iso")


def _option(term: CallTerm, name: str, tokens: list) -> Any:
    text = "".join(t.text for t in tokens)
    if name == "by" and len(tokens) == 1 and tokens[0].kind == "name":
        return tokens[0].text.strip("`")
    if name in {"scale", "gr", "cmc", "iso"} and text in {"TRUE", "FALSE", "T", "F"}:
        return text.startswith("T")
    if name == "cov" and len(tokens) == 1 and tokens[0].kind == "string":
        return tokens[0].text[1:-1]
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
    def lscale_labels(self) -> list[str]:
        """The ``lscale`` coefficients in brms's prior order: one per GP, or with ``iso = FALSE`` one
        per GP and covariate (``gpx1x2x1``, ``gpx1x2x2``: brms's ``sfx2``), ``by`` levels varying last."""
        if self.basis.iso:
            return self.labels
        return [label + x for label in self.labels for x in self.basis.terms]

    @property
    def dims(self) -> int:
        """The number of ``lscale`` per GP: 1, or the covariates' number with ``iso = FALSE``."""
        return 1 if self.basis.iso else len(self.basis.terms)

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


def sqrt_spd(slambda: np.ndarray, sdgp: Any, lscale: Any, exp: Any, per_dimension: bool = False) -> Any:
    """``sqrt(spd_exp_quad(slambda, sdgp, lscale))`` on the log scale: where the density underflows
    (a long ``lscale``), its root and gradient stay finite (``exp``: ``np.exp`` for draws, ``pt.exp``
    in the graph).  Isotropic: ``sdgp``, ``lscale`` scalars or of shape (draws, 1).  With
    ``per_dimension`` (``iso = FALSE``, brms's ``spd_cov_exp_quad`` with a vector ``lscale``):
    ``sdgp^2 sqrt(2 pi)^D prod(lscale) exp(-1/2 sum_d lscale_d^2 slambda_d^2)``, ``lscale`` of
    shape (..., D) and ``sdgp`` of shape (...).

    Example:
        >>> s = np.array([[0.5], [30.0]])
        >>> np.allclose(sqrt_spd(s, 2.0, 0.5, np.exp), np.sqrt(spd_exp_quad(s, 2.0, 0.5)))
        True
        >>> s2 = np.array([[0.5, 1.0], [3.0, 2.0]])
        >>> np.allclose(sqrt_spd(s2, 2.0, np.array([0.5, 0.2]), np.exp, per_dimension=True),
        ...             np.sqrt(spd_exp_quad(s2, 2.0, np.array([0.5, 0.2]))))
        True
    """
    D = slambda.shape[1]
    if per_dimension:
        constant = sdgp * np.sqrt(2 * np.pi) ** (D / 2) * lscale.prod(axis=-1) ** 0.5
        return constant[..., None] * exp(-0.25 * (lscale[..., None, :] ** 2 * slambda**2).sum(axis=-1))
    return sdgp * (np.sqrt(2 * np.pi) * lscale) ** (D / 2) * exp(-0.25 * lscale**2 * (slambda**2).sum(axis=1))


def _sq_distances(points: np.ndarray, others: np.ndarray | None = None, per_dimension: bool = False) -> np.ndarray:
    """Squared distances between ``points`` and ``others`` (the points themselves when None):
    summed over the dimensions, (points, others), or ``per_dimension``, (dimensions, points, others)."""
    others = points if others is None else others
    d2 = (points[:, None, :] - others[None, :, :]) ** 2
    return np.moveaxis(d2, 2, 0) if per_dimension else d2.sum(axis=2)


def exp_quad(d2: Any, sdgp: Any, lscale: Any, exp: Any) -> Any:
    """brms's exponentiated-quadratic covariance ``sdgp^2 exp(-d2 / (2 lscale^2))`` of squared
    distances ``d2``, with ``exp`` NumPy's or PyTensor's (the model's and the draws' one formula).
    With ``d2`` per dimension, (D, points, others), and ``lscale`` of shape (D,) (``iso = FALSE``,
    brms's ``cov_exp_quad``): ``sdgp^2 exp(-sum_d d2_d / (2 lscale_d^2))``, each dimension scaled by
    its own length-scale.

    Example:
        >>> x = np.array([[0.0, 0.0], [1.0, 2.0]])
        >>> float(exp_quad(_sq_distances(x, per_dimension=True), 1.0, np.array([1.0, 2.0]), np.exp)[0, 1])
        0.367879...
    """
    if d2.ndim == 3:
        return sdgp**2 * exp(-0.5 * (d2 / lscale[:, None, None] ** 2).sum(axis=0))
    return sdgp**2 * exp(-0.5 * d2 / lscale**2)


class GaussianProcesses(TermKind):
    """The kind ``gp``: every ``gp()`` term of a predictor."""

    name = "gp"
    calls = ("gp",)

    def data(self, terms: list[CallTerm], ctx: DataContext) -> list[GPTerm] | None:
        return [_term(t, i + 1, ctx) for i, t in enumerate(terms)] or None

    def structure(self, part: list[GPTerm]) -> Any:
        return [(t.exact, [b.Xgp.shape for b in t.basis.blocks]) for t in part]

    def prior_rows(self, lp: LinearPredictor, part: list[GPTerm], ctx: PriorContext) -> list[dict]:
        dp = naming.table_dpar(lp.dpar)
        rows = [prior_row("", "lscale", dpar=dp, lb="0"), prior_row(student_t(0, ctx.scale), "sdgp", dpar=dp, lb="0")]
        for t in part:
            rows += [prior_row(p, "lscale", coef=c, dpar=dp) for c, p in zip(t.lscale_labels, t.basis.lscale_dists())]
            rows += [prior_row("", "sdgp", coef=c, dpar=dp) for c in t.labels]
        return rows

    def slots(self, lp: LinearPredictor, part: list[GPTerm]) -> list[ParamSlot]:
        dp, sfx = naming.table_dpar(lp.dpar), lp.suffix
        out = []
        for t in part:
            lscales = iter(enumerate(t.lscale_labels))  # (by level, covariate) at position j * dims + d
            for j, label in enumerate(t.labels):
                out.append(ParamSlot(f"sdgp{sfx}_{t.number}", j, "sdgp", label, "", dp, lb=0.0))
                out += [ParamSlot(f"lscale{sfx}_{t.number}", i, "lscale", c, "", dp, lb=0.0)
                        for i, c in itertools.islice(lscales, t.dims)]
        return out

    def data_values(self, lp: LinearPredictor, part: list[GPTerm]) -> dict[str, np.ndarray]:
        sfx, values = lp.suffix, {}
        n = len(lp.population.X)
        for t in part:
            for j, block in enumerate(t.basis.blocks):
                ij = f"{sfx}_{t.number}_{j + 1}"
                values[f"Jgp{ij}"], values[f"Cgp{ij}"] = _gather(block, n)
                values[f"Xgp{ij}"] = _sq_distances(block.Xgp, per_dimension=not t.basis.iso) if t.exact else block.Xgp
        return values

    def graph(self, lp: LinearPredictor, part: list[GPTerm], ctx: GraphContext) -> list[tuple]:
        """Per GP ``(values at its unique points, each row's point, each row's weight)``.

        ``lscale`` is one vector of the ``K`` GPs' (``by`` levels') length-scales, with ``iso = FALSE``
        of their ``K * D`` ones (GP ``j``'s dimension ``d`` at ``j * D + d``; brms's ``lscale[K]``
        of ``vector[D]``)."""
        sfx, out = lp.suffix, []
        for t in part:
            K, D = len(t.basis.blocks), t.dims
            sdgp_name, lscale_name = f"sdgp{sfx}_{t.number}", f"lscale{sfx}_{t.number}"
            ctx.params[sdgp_name] = sdgp = parameter(sdgp_name, (K,), *ctx.bounds(sdgp_name))
            ctx.params[lscale_name] = lscale = parameter(lscale_name, (K * D,), *ctx.bounds(lscale_name))
            for j, block in enumerate(t.basis.blocks):
                ij = f"{sfx}_{t.number}_{j + 1}"
                X = pm.Data(f"Xgp{ij}", ctx.values[f"Xgp{ij}"])
                zgp = pm.Normal(f"zgp{ij}", 0.0, 1.0, shape=(block.Xgp.shape[0 if t.exact else 1],))
                ls = lscale[j] if t.basis.iso else lscale[j * D:(j + 1) * D]
                if t.exact:
                    cov = exp_quad(X, sdgp[j], ls, pt.exp) + 1e-12 * pt.eye(block.Xgp.shape[0])
                    values = pt.linalg.cholesky(cov) @ zgp
                else:
                    values = X @ (sqrt_spd(block.slambda, sdgp[j], ls, pt.exp, not t.basis.iso) * zgp)
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
            # brms's draws: lscale_1[j, d] with the GP (by level) j varying fastest
            for d, j in itertools.product(range(t.dims), range(len(t.labels))):
                out["lscale"][f"lscale{sfx}_{t.lscale_labels[j * t.dims + d]}"] = lscale[..., j * t.dims + d]
            for j, label in enumerate(t.labels):
                out["sdgp"][f"sdgp{sfx}_{label}"] = sdgp[..., j]
                zgp = raw[f"zgp{sfx}_{t.number}_{j + 1}"].values
                out["zgp"] |= {f"zgp{sfx}_{label}[{k + 1}]": zgp[..., k] for k in range(zgp.shape[-1])}
        return out

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: list[GPTerm]) -> dict[str, np.ndarray]:
        sfx, out = lp.suffix, {}
        for t in part:
            for cls, labels in (("sdgp", t.labels), ("lscale", t.lscale_labels)):
                out[f"{cls}{sfx}_{t.number}"] = np.stack([posterior[f"{cls}{sfx}_{c}"].values for c in labels], -1)
            for j in range(len(t.labels)):
                out[f"zgp{sfx}_{t.number}_{j + 1}"] = _zgp(posterior, sfx, t, j)
        return out

    def needed(self, lp: LinearPredictor, part: list[GPTerm], kept: dict[int, list[int]]) -> tuple[list[str], list[str]]:
        # the GPs' columns (not ``t.term.variables``: those read ``iso = FALSE``'s ``FALSE`` as a name)
        return list(dict.fromkeys(n for t in part for n in [*t.basis.terms, *([t.basis.by] if t.basis.by else [])])), []

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
                lscale = ctx.pick(_lscale(ctx.posterior, sfx, t, j))
                zgp = ctx.pick(_zgp(ctx.posterior, sfx, t, j))
                if not len(X):  # no new row in this by level: one zero point that no row weighs
                    values = np.zeros((len(sdgp), 1))
                elif t.exact and new:
                    if ctx.rng is None:
                        raise DataError(f"The exact Gaussian process {t.term} is drawn at new rows: it needs random numbers (rng=).")
                    values = np.stack([exact_gp_at_new_points(block.Xgp, X, s, ls, z, ctx.rng)
                                       for s, ls, z in zip(sdgp, lscale, zgp)])
                elif t.exact:
                    d2, eye = _sq_distances(X, per_dimension=not t.basis.iso), np.eye(len(X))
                    values = np.stack([_cholesky(exp_quad(d2, s, ls, np.exp) + 1e-12 * eye) @ z
                                       for s, ls, z in zip(sdgp, lscale, zgp)])
                else:
                    values = (sqrt_spd(block.slambda, sdgp[:, None], lscale[:, None], np.exp) if t.basis.iso
                              else sqrt_spd(block.slambda, sdgp, lscale, np.exp, per_dimension=True))
                    values = (values * zgp) @ X.T
                out.append((values, index, weight))
        return out


#: brms's nugget of exact GPs at new points (``prepare_predictions``: 1e-8 there, 1e-12 in the model)
NEW_POINTS_NUGGET = 1e-8


def exact_gp_at_new_points(old: np.ndarray, new: np.ndarray, sdgp: float, lscale: float | np.ndarray, zgp: np.ndarray,
                           rng: np.random.Generator) -> np.ndarray:
    """One draw of an exact GP at ``new`` points given its values ``L zgp`` at the training points
    ``old``, as brms's ``.predictor_gp_new``: from the normal with mean ``k' K^-1 f`` and covariance
    ``K_new - k' K^-1 k`` (both with brms's nugget of 1e-8 on the diagonal).  Where brms stops with
    "not positive definite" (a new point on a training point), the symmetric square root draws.

    Parameters
    ----------
    old, new : numpy.ndarray
        The training and the new points (scaled as the GP's data), (points, dimensions).
    sdgp : float
        The draw's GP standard deviation.
    lscale : float or numpy.ndarray
        The draw's length-scale, or one per dimension (``iso = FALSE``).
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
        return exp_quad(_sq_distances(a, b, per_dimension=np.ndim(lscale) > 0), sdgp, lscale, np.exp)

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


def _lscale(posterior: xr.Dataset, sfx: str, t: GPTerm, j: int) -> np.ndarray:
    """The draws of GP ``j``'s ``lscale``: (chain, draw), with ``iso = FALSE`` (chain, draw, D)."""
    if t.basis.iso:
        return posterior[f"lscale{sfx}_{t.labels[j]}"].values
    labels = t.lscale_labels[j * t.dims:(j + 1) * t.dims]
    return np.stack([posterior[f"lscale{sfx}_{c}"].values for c in labels], axis=-1)


def _zgp(posterior: xr.Dataset, sfx: str, t: GPTerm, j: int) -> np.ndarray:
    """The draws of a GP's ``zgp``: (chain, draw, K)."""
    block = t.basis.blocks[j]
    size = block.Xgp.shape[0 if t.exact else 1]
    return np.stack([posterior[f"zgp{sfx}_{t.labels[j]}[{k + 1}]"].values for k in range(size)], axis=-1)


KIND = GaussianProcesses()
