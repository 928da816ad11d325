"""Smooth terms (brms's ``sm``): ``s()`` and ``t2()`` split by mgcv's ``smooth2random`` into
unpenalised columns ``Xs`` (coefficients ``bs``, class ``b``) and penalised blocks ``Zs`` whose
coefficients are ``s = sds * zs`` with ``zs`` standard normal (class ``sds``).

The bases are :mod:`brmc.bases`' (exact against brms's ``standata``).  brms numbers the
smooths of a predictor one after the other, a factor ``by`` giving one smooth per level, and
names their draws ``bs_stimes_1``, ``sds_stimes_1``, ``s_stimes_1[1]``; the label is the
function, the covariates and ``by`` without punctuation (``scravengenderboy``), the columns of
``Xs`` are mgcv's label and their number (``scraven:genderboy_1``).  ``s(g, bs = "re")`` of one
factor is added by an index gather, as a ``(1 | g)`` term: no dense indicator matrix.

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("accel ~ s(times)"), brmc.datasets.load("mcycle"),
    ...                           brmc.get_family("gaussian"))
    >>> part = md.predictors["mu"].parts["sm"]
    >>> part.xs_names, [(sm.label, [z.shape[1] for z in sm.Zs]) for sm in part.smooths]
    (['stimes_1'], [('stimes', [8])])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pymc as pm
from scipy import sparse

from .. import naming
from ..bases import Smooth, t2
from ..errors import FormulaError
from ..formula import CallTerm
from ..graph import parameter
from .base import DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext, TermKind, prior_row, student_t
from .sm_options import check_basis_options, read_option

if TYPE_CHECKING:
    import xarray as xr

    from ..data import LinearPredictor

@dataclass
class SmoothSpec:
    """A smooth term as written: its function (``s``, ``t2``), covariates and options."""

    term: CallTerm
    covariates: list[str]
    options: dict[str, Any]

    @property
    def text(self) -> str:
        """The term as brms deparses it, the ``coef`` of its ``sds`` prior: ``s(times, bs = "cr", k = 8)``."""
        return str(self.term).replace("'", '"')

    def basis(self, frame: Any) -> Smooth:
        opts = self.options
        if self.term.name == "t2":
            return t2(frame, self.covariates, k=opts.get("k", 5), bs=opts.get("bs", "cr"), by=opts.get("by"))
        return Smooth(frame, self.covariates, bs=opts.get("bs", "tp"), k=opts.get("k", -1), m=opts.get("m"),
                      by=opts.get("by"), fx=opts.get("fx", False), pc=opts.get("pc"), xt=opts.get("xt"))


def parse_smooth(term: CallTerm) -> SmoothSpec:
    """Read ``s(x, z, k = 8, bs = "cr", by = g)``: covariates (names) and options.

    Example:
        >>> from brmc.formula import parse_formula
        >>> spec = parse_smooth(parse_formula('y ~ s(x, k = 8, bs = "cr")').terms[1])
        >>> spec.covariates, spec.options, spec.text
        (['x'], {'k': 8, 'bs': 'cr'}, 's(x, k = 8, bs = "cr")')
    """
    covariates: list[str] = []
    options: dict[str, Any] = {}
    for arg in term.args:
        toks = arg.tokens
        if len(toks) >= 3 and toks[0].kind == "name" and toks[1].text == "=":
            name, value = read_option(arg, term, covariates)
            options[name] = value
        elif len(toks) == 1 and toks[0].kind == "name" and not options:
            covariates.append(toks[0].text.strip("`"))
        else:
            raise FormulaError(f"The covariates of {term} must be column names given before its options, "
                               f"not {arg!r}.")
    if not covariates:
        raise FormulaError(f"{term} has no covariate.")
    check_basis_options(term, options)
    return SmoothSpec(term, covariates, options)


@dataclass
class OneSmooth:
    """One smooth of a predictor (a term, or one level of its factor ``by``): brms's number
    ``i`` of its ``Zs_<i>_<j>`` blocks, its label for names, its term and the term's position."""

    number: int
    label: str
    spec: SmoothSpec
    Zs: tuple[Any, ...]
    term: int

    def gather(self, j: int) -> bool:
        """Whether block ``j`` is an indicator (``s(g, bs = "re")``), added by index."""
        return sparse.issparse(self.Zs[j])


@dataclass
class Smooths:
    """A predictor's smooths: the bases (for new rows), ``Xs`` with brms's column names, each smooth."""

    specs: list[SmoothSpec]
    bases: list[Smooth]
    Xs: np.ndarray
    xs_names: list[str]
    smooths: list[OneSmooth]
    xs_terms: list[int]  # the position in ``specs`` of each column of ``Xs``


def _label(spec: SmoothSpec, by_level: str | None) -> str:
    """brms's smooth label (``tidy_smef``): function, covariates and ``by`` run together."""
    by = [spec.options["by"]] if "by" in spec.options else []
    label = spec.term.name + naming.brms_rename("".join(spec.covariates + by))
    return label + (naming.brms_rename(str(by_level).replace(" ", "")) if by_level is not None else "")


def gather_index(Z: Any) -> np.ndarray:
    """Each row's column of an indicator matrix (at most one 1 per row), ``-1`` for an empty row."""
    Z = sparse.csr_array(Z)
    index = np.full(Z.shape[0], -1, dtype=np.int64)
    counts = np.diff(Z.indptr)
    index[counts > 0] = Z.indices[Z.indptr[:-1][counts > 0]]
    return index


def _assemble(specs: list[SmoothSpec], bases: list[Smooth], blocks: list[list]
              ) -> tuple[np.ndarray, list[str], list[OneSmooth], list[int]]:
    columns, names, smooths, owners = [], [], [], []
    for i, (spec, per_term) in enumerate(zip(specs, blocks)):
        for block in per_term:
            columns.append(block.Xs)
            names += [naming.brms_rename(f"{block.label}_{c + 1}") for c in range(block.Xs.shape[1])]
            owners += [i] * block.Xs.shape[1]
            smooths.append(OneSmooth(len(smooths) + 1, _label(spec, block.by_level), spec, block.Zs, i))
    n = blocks[0][0].Xs.shape[0]
    return (np.column_stack(columns) if names else np.zeros((n, 0))), names, smooths, owners


def _contribution(Z: Any, gather: bool) -> np.ndarray:
    return gather_index(Z) if gather else np.asarray(Z.toarray() if sparse.issparse(Z) else Z, dtype=float)


class SmoothTerms(TermKind):
    """The kind ``sm``: every ``s()`` and ``t2()`` term of a predictor."""

    name = "sm"
    calls = ("s", "t2")

    def data(self, terms: list[CallTerm], ctx: DataContext) -> Smooths | None:
        if not terms:
            return None
        specs = [parse_smooth(t) for t in terms]
        bases = [spec.basis(ctx.frame) for spec in specs]
        return Smooths(specs, bases, *_assemble(specs, bases, [b.blocks for b in bases]))

    def structure(self, part: Smooths) -> Any:
        return len(part.xs_names), [[(z.shape[1], sm.gather(j)) for j, z in enumerate(sm.Zs)] for sm in part.smooths]

    def prior_rows(self, lp: LinearPredictor, part: Smooths, ctx: PriorContext) -> list[dict]:
        dp = naming.table_dpar(lp.dpar)
        rows = [prior_row("", "b", dpar=dp)] + [prior_row("", "b", coef=c, dpar=dp) for c in part.xs_names]
        # brms 2.18's prior_sm lists sds for every smooth term, an unpenalised s(x, fx = TRUE) too
        rows.append(prior_row(student_t(0, ctx.scale), "sds", dpar=dp, lb="0"))
        return rows + [prior_row("", "sds", coef=text, dpar=dp) for text in dict.fromkeys(s.text for s in part.specs)]

    def slots(self, lp: LinearPredictor, part: Smooths) -> list[ParamSlot]:
        dp, sfx = naming.table_dpar(lp.dpar), lp.suffix
        out = [ParamSlot(f"bs{sfx}", k, "b", coef, "", dp) for k, coef in enumerate(part.xs_names)]
        for sm in part.smooths:
            out += [ParamSlot(f"sds{sfx}_{sm.number}", j, "sds", sm.spec.text, "", dp, lb=0.0)
                    for j in range(len(sm.Zs))]
        return out

    def data_values(self, lp: LinearPredictor, part: Smooths) -> dict[str, np.ndarray]:
        sfx = lp.suffix
        values = {f"Xs{sfx}": part.Xs} if part.xs_names else {}
        for sm in part.smooths:
            for j, Z in enumerate(sm.Zs):
                values[_data_name(sfx, sm, j)] = _contribution(Z, sm.gather(j))
        return values

    def graph(self, lp: LinearPredictor, part: Smooths, ctx: GraphContext) -> list[tuple]:
        """``[(Xs, bs, False), (Zs_i_j, s_i_j, False) or (index, s_i_j, True), ...]``, ``s = sds * zs``."""
        sfx = lp.suffix
        out = []
        if part.xs_names:
            ctx.params[f"bs{sfx}"] = bs = parameter(f"bs{sfx}", (len(part.xs_names),), *ctx.bounds(f"bs{sfx}"))
            out.append((pm.Data(f"Xs{sfx}", ctx.values[f"Xs{sfx}"]), bs, False))
        for sm in part.smooths:
            if not sm.Zs:
                continue
            name = f"sds{sfx}_{sm.number}"
            ctx.params[name] = sds = parameter(name, (len(sm.Zs),), *ctx.bounds(name))
            for j, Z in enumerate(sm.Zs):
                zs = pm.Normal(f"zs{sfx}_{sm.number}_{j + 1}", 0.0, 1.0, shape=(Z.shape[1],))
                data = _data_name(sfx, sm, j)
                out.append((pm.Data(data, ctx.values[data]), sds[j] * zs, sm.gather(j)))
        return out

    def add(self, eta: Any, contribution: list[tuple]) -> Any:
        """``eta + Σ coef @ M'`` over the ``(M, coef, gather)`` of :meth:`graph`, or ``coef[..., M]``
        where ``M`` is each row's level (``gather``; ``-1``, a level not seen, adds 0)."""
        for M, coef, gather in contribution:
            eta = eta + (coef[..., M] if gather else coef @ M.T)
        return eta

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: Smooths) -> dict[str, dict[str, np.ndarray]]:
        sfx = lp.suffix
        out: dict[str, dict[str, np.ndarray]] = {"bs": {}, "sds": {}, "s": {}}
        if part.xs_names:
            bs = raw[f"bs{sfx}"].values
            out["bs"] = {f"bs{sfx}_{n}": bs[..., k] for k, n in enumerate(part.xs_names)}
        for sm in part.smooths:
            if not sm.Zs:
                continue
            sds = raw[f"sds{sfx}_{sm.number}"].values
            for j in range(len(sm.Zs)):
                out["sds"][f"sds{sfx}_{sm.label}_{j + 1}"] = sds[..., j]
                s = sds[..., j, None] * raw[f"zs{sfx}_{sm.number}_{j + 1}"].values
                out["s"] |= {f"s{sfx}_{sm.label}_{j + 1}[{k + 1}]": s[..., k] for k in range(s.shape[-1])}
        return out

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: Smooths) -> dict[str, np.ndarray]:
        sfx = lp.suffix
        out = {}
        if part.xs_names:
            out[f"bs{sfx}"] = np.stack([posterior[f"bs{sfx}_{n}"].values for n in part.xs_names], axis=-1)
        for sm in part.smooths:
            if not sm.Zs:
                continue
            sds = np.stack([posterior[f"sds{sfx}_{sm.label}_{j + 1}"].values for j in range(len(sm.Zs))], axis=-1)
            out[f"sds{sfx}_{sm.number}"] = sds
            for j in range(len(sm.Zs)):
                s = _coefficients(posterior, sfx, sm, j)
                out[f"zs{sfx}_{sm.number}_{j + 1}"] = s / sds[..., j, None]
        return out

    def needed(self, lp: LinearPredictor, part: Smooths, kept: dict[int, list[int]]) -> tuple[list[str], list[str]]:
        return list(dict.fromkeys(n for spec in part.specs for n in spec.term.variables)), []

    def rows(self, lp: LinearPredictor, part: Smooths, ctx: RowsContext) -> tuple[np.ndarray, list[list[Any]]]:
        """``(Xs, blocks)``: the training rows' or, for new rows, each basis's prediction path."""
        if ctx.newdata is None:
            return part.Xs, [[_contribution(Z, sm.gather(j)) for j, Z in enumerate(sm.Zs)] for sm in part.smooths]
        Xs, _, smooths, _ = _assemble(part.specs, part.bases, [b.predict(ctx.new) for b in part.bases])
        return Xs, [[_contribution(Z, sm.gather(j)) for j, Z in enumerate(sm.Zs)] for sm in smooths]

    def draws(self, lp: LinearPredictor, part: Smooths, rows: tuple, ctx: DrawsContext) -> list[tuple]:
        return self.term_draws(lp, part, rows, ctx, range(len(part.specs)))

    def term_draws(self, lp: LinearPredictor, part: Smooths, rows: tuple, ctx: DrawsContext,
                   terms: Sequence[int]) -> list[tuple]:
        """:meth:`draws` of the smooths ``terms`` only (positions in ``part.specs``), as brms's
        ``posterior_smooths`` takes one term's columns of ``Xs`` and its ``Zs`` blocks.

        Parameters
        ----------
        lp : LinearPredictor
            The predictor the smooths belong to.
        part : Smooths
            Its smooths.
        rows : tuple
            :meth:`rows` for the rows wanted.
        ctx : DrawsContext
            The draws.
        terms : sequence of int
            The smooth terms to keep.

        Returns
        -------
        list of tuple
            ``(M, coefficients, gather)`` as :meth:`add` takes them.

        Examples
        --------
        >>> from brmc.predict import new_design
        >>> lp = fit_smooth.model_data.predictors["mu"]
        >>> rows = new_design(fit_smooth.model_data, None)["mu"]["sm"]
        >>> parts = KIND.term_draws(lp, lp.parts["sm"], rows, DrawsContext(fit_smooth.idata.posterior), [0])
        >>> [M.shape for M, _, _ in parts]  # Xs's column and the penalised block of s(times)
        [(133, 1), (133, 8)]
        """
        Xs, blocks = rows
        sfx = lp.suffix
        out = []
        columns = [c for c, owner in enumerate(part.xs_terms) if owner in terms]
        if columns:
            bs = np.stack([ctx.pick(ctx.posterior[f"bs{sfx}_{part.xs_names[c]}"].values) for c in columns], axis=-1)
            out.append((Xs[:, columns], bs, False))
        for sm, values in zip(part.smooths, blocks):
            if sm.term not in terms:
                continue
            for j, M in enumerate(values):
                s = ctx.pick(_coefficients(ctx.posterior, sfx, sm, j))
                if sm.gather(j):  # a level not seen in training (-1) reads an appended zero
                    s = np.concatenate([s, np.zeros((*s.shape[:-1], 1))], axis=-1)
                out.append((M, s, sm.gather(j)))
        return out



def _data_name(sfx: str, sm: OneSmooth, j: int) -> str:
    return f"{'Js' if sm.gather(j) else 'Zs'}{sfx}_{sm.number}_{j + 1}"


def _coefficients(posterior: xr.Dataset, sfx: str, sm: OneSmooth, j: int) -> np.ndarray:
    """The draws of ``s_<label>_<j>``: (chain, draw, K)."""
    name = f"s{sfx}_{sm.label}_{j + 1}"
    return np.stack([posterior[f"{name}[{k + 1}]"].values for k in range(sm.Zs[j].shape[1])], axis=-1)


KIND = SmoothTerms()
