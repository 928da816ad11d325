"""Measurement-error terms (brms's special terms ``me``): ``me(x, sdx)`` in a univariate model's ``mu``.

brms models the noise-free values of ``x`` as latent parameters, non-centred: ``Xme_1 = meanme_1[1]
+ sdme_1[1] * zme_1`` with ``zme_1 ~ std_normal()``, the observed values ``Xn_1 ~ normal(Xme_1,
noise_1)`` (``noise_1`` is ``sdx``: a number or a column), and adds ``bsp[k] * Xme_1`` to the linear
predictor.  Priors: the coefficient is of class ``b`` (coef ``mechl10``, the term's name), the latent
mean and sd of classes ``meanme`` and ``sdme`` (coef ``mechl``, ``me`` and the variable; ``sdme`` has
lower bound 0), all flat by default.  The draws are ``bsp_mechl10``, ``meanme_mechl``, ``sdme_mechl``,
``Xme_mechl[1]``, ... (brms's ``rename_Xme``); brms 2.18's summary prints the coefficient among the
population-level effects and the rest in no section.

The latent values exist for the training rows only; at new rows they are drawn as brms does,
``normal(x, sdx)`` afresh for every draw (``seed=`` makes it repeatable).  brmc takes one ``me()`` term, ungrouped, in
``mu`` (brms's ``gr`` argument and correlated latent values of several terms are not there yet); in a
multivariate model the responses share its latent values and each has its coefficient (``bsp_y1_mechl10``).

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("bmi ~ me(chl, 10) + age"),
    ...                           brmc.datasets.load("nhanes").dropna(), brmc.get_family("gaussian"))
    >>> t = md.predictors["mu"].parts["me"][0]
    >>> t.label, t.coef, t.Xn[:3], t.noise[:3]
    ('mechl10', 'mechl', array([187., 113., 118.]), array([10., 10., 10.]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pymc as pm

from .. import naming
from ..errors import DataError, FormulaError
from ..formula import CallTerm
from ..graph import parameter
from ..lexer import Expr
from .base import DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext, TermKind, prior_row

if TYPE_CHECKING:
    import xarray as xr

    from ..data import LinearPredictor

#: the model's name of the terms' coefficients (brms's ``bsp``, shared there with ``mo()``; brmc keeps
#: them apart so that each kind owns its parameters); the draws are ``bsp_<label>`` all the same
COEF = "bspme"


@dataclass
class MeasurementErrorTerm:
    """One ``me(x, sdx)`` term: its brms names (``mechl10``; ``mechl`` for ``meanme``/``sdme``),
    the observed values ``Xn`` and their noise sd ``noise`` on the training rows."""

    term: CallTerm
    label: str
    coef: str
    Xn: np.ndarray
    noise: np.ndarray


def _column_or_number(expr: Expr, term: CallTerm, frame: pd.DataFrame, what: str) -> np.ndarray:
    """A bare column name's values in ``frame``, or (for ``sdx``) a number repeated."""
    tokens = expr.tokens
    if len(tokens) == 1 and tokens[0].kind == "number" and what == "sdx":
        return np.full(len(frame), float(tokens[0].text))
    if len(tokens) != 1 or tokens[0].kind != "name":
        raise FormulaError(f"The term {term} takes a column name as {what} (or a number as sdx), not {expr!r}.")
    return np.asarray(frame[tokens[0].text.strip("`")], dtype=float)


def _observed(term: CallTerm, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(Xn, noise)`` of the rows of ``frame``: the observed values and their measurement sd."""
    Xn = _column_or_number(term.args[0], term, frame, "x")
    noise = _column_or_number(term.args[1], term, frame, "sdx")
    if np.any(noise < 0):
        raise DataError(f"The measurement error sdx of {term} must be zero or more; it has {noise.min()}.")
    return Xn, noise


def _term(term: CallTerm, ctx: DataContext) -> MeasurementErrorTerm:
    if len(term.args) != 2 or term.covariates:
        raise FormulaError(f"{term} takes two arguments, me(x, sdx) (brmc reads no gr= argument and no "
                           "interactions of me() yet).")
    Xn, noise = _observed(term, ctx.frame)
    coef = naming.brms_rename(f"me{term.args[0]}")
    return MeasurementErrorTerm(term, naming.brms_rename(str(term)), coef, Xn, noise)


class MeasurementError(TermKind):
    """The kind ``me``: a predictor's ``me()`` term."""

    name = "me"
    calls = ("me",)

    def data(self, terms: list[CallTerm], ctx: DataContext) -> list[MeasurementErrorTerm] | None:
        if not terms:
            return None
        if ctx.dpar != "mu" or ctx.nlpar:
            raise FormulaError(f"brmc takes me() terms in the formula of mu only, not {ctx.dpar}: {terms[0]}.")
        if len(terms) > 1:
            raise FormulaError(f"brmc takes one me() term per model yet (brms correlates the latent values "
                               f"of several): {', '.join(map(str, terms))}.")
        return [_term(terms[0], ctx)]

    def structure(self, part: list[MeasurementErrorTerm]) -> Any:
        return [len(t.Xn) for t in part]

    def prior_rows(self, lp: LinearPredictor, part: list[MeasurementErrorTerm], ctx: PriorContext) -> list[dict]:
        rows = [prior_row("", "b")] + [prior_row("", "b", coef=t.label) for t in part]
        rows += [prior_row("", "meanme")] + [prior_row("", "meanme", coef=t.coef) for t in part]
        return rows + [prior_row("", "sdme", lb="0")] + [prior_row("", "sdme", coef=t.coef) for t in part]

    def slots(self, lp: LinearPredictor, part: list[MeasurementErrorTerm]) -> list[ParamSlot]:
        out = [ParamSlot(f"{COEF}{lp.suffix}", k, "b", t.label, "", "") for k, t in enumerate(part)]
        out += [ParamSlot(f"meanme_{k + 1}", 0, "meanme", t.coef) for k, t in enumerate(part)]
        return out + [ParamSlot(f"sdme_{k + 1}", 0, "sdme", t.coef, lb=0.0) for k, t in enumerate(part)]

    def data_values(self, lp: LinearPredictor, part: list[MeasurementErrorTerm]) -> dict[str, np.ndarray]:
        return {name: value for k, t in enumerate(part) for name, value in
                ((f"Xn_{k + 1}", t.Xn), (f"noise_{k + 1}", t.noise))}

    def graph(self, lp: LinearPredictor, part: list[MeasurementErrorTerm], ctx: GraphContext) -> list[tuple]:
        """Per term ``(bsp_k, Xme_k)``; the latent values' ``std_normal`` and the observed values'
        ``normal(Xme, noise)`` are added to the model's density here, once: the responses of a multivariate
        model share the latent values (brms's ``Xme_1``, not named by response), each has its own ``bsp``."""
        name = f"{COEF}{lp.suffix}"
        ctx.params[name] = bsp = parameter(name, (len(part),), *ctx.bounds(name))
        model, out = pm.modelcontext(None), []
        for k, t in enumerate(part):
            n = k + 1
            if f"zme_{n}" in model.named_vars:  # made by an earlier response
                out.append((bsp[k], ctx.params[f"meanme_{n}"][0] + ctx.params[f"sdme_{n}"][0] * model[f"zme_{n}"]))
                continue
            ctx.params[f"meanme_{n}"] = mean = parameter(f"meanme_{n}", (1,), *ctx.bounds(f"meanme_{n}"))
            ctx.params[f"sdme_{n}"] = sd = parameter(f"sdme_{n}", (1,), *ctx.bounds(f"sdme_{n}"))
            zme = pm.Normal(f"zme_{n}", 0.0, 1.0, shape=(len(t.Xn),))
            Xme = mean[0] + sd[0] * zme
            Xn, noise = pm.Data(f"Xn_{n}", ctx.values[f"Xn_{n}"]), pm.Data(f"noise_{n}", ctx.values[f"noise_{n}"])
            pm.Potential(f"Xn_{n}_lpdf", pm.logp(pm.Normal.dist(Xme, noise), Xn).sum())
            out.append((bsp[k], Xme))
        return out

    def add(self, eta: Any, contribution: list[tuple]) -> Any:
        """``eta + Σ bsp_k Xme_k`` (draws on the leading axes of both, or one point)."""
        for bsp, Xme in contribution:
            eta = eta + (bsp[..., None] if getattr(bsp, "ndim", 0) else bsp) * Xme
        return eta

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: list[MeasurementErrorTerm]) -> dict[str, dict]:
        bsp = raw[f"{COEF}{lp.suffix}"].values
        out: dict[str, dict] = {"bsp": {_bsp(lp, t): bsp[..., k] for k, t in enumerate(part)}, "me": {}}
        for k, t in enumerate(part):
            mean, sd = raw[f"meanme_{k + 1}"].values[..., 0], raw[f"sdme_{k + 1}"].values[..., 0]
            Xme = mean[..., None] + sd[..., None] * raw[f"zme_{k + 1}"].values
            out["me"] |= {f"meanme_{t.coef}": mean, f"sdme_{t.coef}": sd}
            out["me"] |= {f"Xme_{t.coef}[{i + 1}]": Xme[..., i] for i in range(Xme.shape[-1])}
        return out

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: list[MeasurementErrorTerm]
                    ) -> dict[str, np.ndarray]:
        out = {f"{COEF}{lp.suffix}": np.stack([posterior[_bsp(lp, t)].values for t in part], axis=-1)}
        for k, t in enumerate(part):
            mean, sd = posterior[f"meanme_{t.coef}"].values, posterior[f"sdme_{t.coef}"].values
            out[f"meanme_{k + 1}"], out[f"sdme_{k + 1}"] = mean[..., None], sd[..., None]
            out[f"zme_{k + 1}"] = (_latent(posterior, t) - mean[..., None]) / sd[..., None]
        return out

    def needed(self, lp: LinearPredictor, part: list[MeasurementErrorTerm], kept: dict[int, list[int]]
               ) -> tuple[list[str], list[str]]:
        return list(dict.fromkeys(n for t in part for n in t.term.variables)), []

    def rows(self, lp: LinearPredictor, part: list[MeasurementErrorTerm], ctx: RowsContext
             ) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Nothing for the training rows (their latent values are in the draws); ``(Xn, noise)`` of new rows."""
        return None if ctx.newdata is None else [_observed(t.term, ctx.new) for t in part]

    def draws(self, lp: LinearPredictor, part: list[MeasurementErrorTerm], rows: list | None, ctx: DrawsContext
              ) -> list[tuple]:
        """``(bsp_k, Xme_k)``: the training rows' latent values, or for new rows brms's draws of them,
        ``normal(Xn, noise)`` afresh per draw (brms's ``prepare_predictions_sp``)."""
        out = []
        for k, t in enumerate(part):
            bsp = ctx.pick(ctx.posterior[_bsp(lp, t)].values)
            if rows is None:
                out.append((bsp, ctx.pick(_latent(ctx.posterior, t))))
                continue
            if ctx.rng is None:
                raise DataError(f"The latent values of {t.term} are drawn at new rows: it needs random numbers (rng=).")
            Xn, noise = rows[k]
            out.append((bsp, ctx.rng.normal(Xn, noise, size=(len(bsp), len(Xn)))))
        return out


def _bsp(lp: LinearPredictor, t: MeasurementErrorTerm) -> str:
    """brms's name of a term's coefficient: ``bsp_mechl10``, in a multivariate model ``bsp_bmi_mechl10``."""
    return f"bsp{lp.suffix}_{t.label}"


def _latent(posterior: xr.Dataset, t: MeasurementErrorTerm) -> np.ndarray:
    """The draws of a term's latent values: (chain, draw, N)."""
    return np.stack([posterior[f"Xme_{t.coef}[{i + 1}]"].values for i in range(len(t.Xn))], axis=-1)


KIND = MeasurementError()
