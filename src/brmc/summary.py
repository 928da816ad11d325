"""brms-style text (and HTML) for ``summary``, ``prior_summary`` and ``get_prior``.

Numbers are brms's: posterior mean, sd and quantiles, ArviZ's rank-normalised
split Rhat and bulk/tail ESS (as Stan's), laid out as brms 2.18 prints them.

Example:
    >>> import numpy as np
    >>> row = summarise_draws(np.random.default_rng(1).normal(size=(4, 500)))
    >>> list(row)
    ['Estimate', 'Est.Error', 'l-95% CI', 'u-95% CI', 'Rhat', 'Bulk_ESS', 'Tail_ESS']
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd

from .algorithms import SAMPLERS, is_mcmc
from .naming import cor_name, fixef_variables, sd_name
from .rprint import format_int, format_num, format_table, html_report

if TYPE_CHECKING:
    import xarray as xr

    from .fit import Fit

COLUMNS = ["Estimate", "Est.Error", "l-95% CI", "u-95% CI", "Rhat", "Bulk_ESS", "Tail_ESS"]
FOOTER = (
    "Draws were sampled using {sampler}. For each parameter, Bulk_ESS\n"
    "and Tail_ESS are effective sample size measures, and Rhat is the potential\n"
    "scale reduction factor on split chains (at convergence, Rhat = 1)."
)


@contextmanager
def arviz_numpy() -> Iterator[None]:
    """Run ArviZ's NumPy code paths instead of its Numba ones.

    For one parameter's draws they are as fast, and Numba's compilation costs
    ~0.4 s in every new process; ArviZ's setting is restored afterwards.

    Example:
        >>> with arviz_numpy():
        ...     float(az.ess(np.random.default_rng(1).normal(size=(4, 500)))) > 1000
        True
    """
    before = az.Numba.numba_flag
    az.Numba.numba_flag = False
    try:
        yield
    finally:
        az.Numba.numba_flag = before


def summarise_draws(draws: np.ndarray, probs: tuple[float, float] = (0.025, 0.975)) -> dict[str, float]:
    """One summary row for a (chain, draw) array."""
    draws = np.asarray(draws, dtype=float)
    lo, hi = np.quantile(draws, probs)
    with arviz_numpy():
        rhat, bulk, tail = az.rhat(draws), az.ess(draws, method="bulk"), az.ess(draws, method="tail")
    if np.ptp(draws) == 0:  # a constant (an ordinal model's disc): posterior's NA diagnostics
        rhat = bulk = tail = np.nan
    return {
        "Estimate": float(draws.mean()),
        "Est.Error": float(draws.std(ddof=1)),
        f"l-{_pct(probs)}% CI": float(lo),
        f"u-{_pct(probs)}% CI": float(hi),
        "Rhat": float(rhat),
        "Bulk_ESS": float(bulk),
        "Tail_ESS": float(tail),
    }


def _pct(probs: tuple[float, float]) -> str:
    width = (probs[1] - probs[0]) * 100
    return f"{width:g}"


def _table(rows: dict[str, np.ndarray], probs: tuple[float, float]) -> pd.DataFrame:
    frame = pd.DataFrame({name: summarise_draws(d, probs) for name, d in rows.items()}).T
    return frame


def _format(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy().astype(object)
    for col in frame.columns:
        fmt = format_int if col in {"Bulk_ESS", "Tail_ESS"} else format_num
        out[col] = [fmt(v) for v in frame[col]]
    return out


@dataclass
class Summary:
    """brms's ``summary(fit)``: ``str()`` gives the text, attributes the tables.

    ``fixed`` (population-level, with the smooths' ``bs`` and the monotonic ``bsp``), ``random``
    (dict by grouping factor), ``smooth`` (the smooths' ``sds``), ``gp`` (``sdgp``, ``lscale``),
    ``simplex`` (the monotonic simplexes) and ``spec_pars`` (family parameters) are DataFrames of numbers.
    """

    header: list[str]
    fixed: pd.DataFrame
    random: dict[str, pd.DataFrame]
    spec_pars: pd.DataFrame
    nlevels: dict[str, int]
    sampler: str
    mcmc: bool = True
    warnings: list[str] = field(default_factory=list)
    priors: pd.DataFrame | None = None
    smooth: pd.DataFrame = field(default_factory=pd.DataFrame)
    simplex: pd.DataFrame = field(default_factory=pd.DataFrame)
    gp: pd.DataFrame = field(default_factory=pd.DataFrame)
    autocor: pd.DataFrame = field(default_factory=pd.DataFrame)
    rescor: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __str__(self) -> str:
        lines = [f"Warning: {w}" for w in self.warnings] + list(self.header)
        if self.priors is not None:
            lines += ["", "Priors: ", format_prior_table(self.priors)]
        if len(self.autocor):
            lines += ["", "Correlation Structures:", format_table(_format(self.autocor))]
        if self.random:
            lines += ["", "Group-Level Effects: "]
            for i, (group, frame) in enumerate(self.random.items()):
                if i:
                    lines.append("")
                lines.append(f"~{group} (Number of levels: {self.nlevels[group]}) ")
                lines.append(format_table(_format(frame)))
        if len(self.smooth):
            lines += ["", "Smooth Terms: ", format_table(_format(self.smooth))]
        if len(self.gp):
            lines += ["", "Gaussian Process Terms: ", format_table(_format(self.gp))]
        if len(self.fixed):
            lines += ["", "Population-Level Effects: ", format_table(_format(self.fixed))]
        if len(self.simplex):
            lines += ["", "Simplex Parameters: ", format_table(_format(self.simplex))]
        if len(self.spec_pars):
            lines += ["", "Family Specific Parameters: ", format_table(_format(self.spec_pars))]
        if len(self.rescor):
            lines += ["", "Residual Correlations: ", format_table(_format(self.rescor))]
        lines += ["", FOOTER.format(sampler=self.sampler) if self.mcmc else
                  f"Draws were sampled using {self.sampler}. "]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        sections = [("Correlation Structures", self.autocor)] if len(self.autocor) else []
        sections += [(f"Group-Level Effects: ~{g} (Number of levels: {self.nlevels[g]})", f)
                     for g, f in self.random.items()]
        sections += [("Smooth Terms", self.smooth)] if len(self.smooth) else []
        sections += [("Gaussian Process Terms", self.gp)] if len(self.gp) else []
        sections += [("Population-Level Effects", self.fixed)]
        sections += [("Simplex Parameters", self.simplex)] if len(self.simplex) else []
        sections += [("Family Specific Parameters", self.spec_pars)]
        sections += [("Residual Correlations", self.rescor)] if len(self.rescor) else []
        return html_report(["\n".join(f"Warning: {w}" for w in self.warnings), "\n".join(self.header),
                            *[(title, _format(frame)) for title, frame in sections]])


def _prefixed(post: xr.Dataset, prefixes: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The draws of the variables named ``<prefix><label>`` as brms's summary rows ``sds(<label>)``."""
    return {f"{p[:-1]}({str(n).removeprefix(p)})": post[n].values
            for p in prefixes for n in post.data_vars if str(n).startswith(p)}


def _cor_label(name: str) -> str:
    """brms's summary row of a correlation ``lncor__p2__p3`` / ``cortime__1__2``: ``lncor(p2,p3)``, ``cortime(1,2)``."""
    return f"{name.replace('__', '(', 1).replace('__', ',', 1)})"


def summary_tables(fit: Fit, probs: tuple[float, float] = (0.025, 0.975)) -> Summary:
    """Compute brms's summary tables of a fit (without the header)."""
    post = fit.idata.posterior
    md = fit.model_data
    fixed = _table({row: post[name].values for row, name in fixef_variables(post, md).items()}, probs)
    simplex = _table({str(n).removeprefix("simo_"): post[n].values for n in post.data_vars
                      if str(n).startswith("simo_")}, probs)
    smooth = _table(_prefixed(post, ("sds_",)), probs)
    gp = _table(_prefixed(post, ("sdgp_", "lscale_")), probs)
    autocor = _table({n: post[n].values for n in post.data_vars  # a multivariate model's ar_y1[1], cosy_y1
                      if re.fullmatch(r"(ar|ma)(_\w+)?\[\d+\]|cosy(_\w+)?", str(n))}
                     | {_cor_label(n): post[n].values for n in post.data_vars if re.match(r"cortime(_\w+)?__", str(n))},
                     probs)
    random: dict[str, pd.DataFrame] = {}
    for group in md.groups():
        blocks = [b for b in md.blocks if b.group == group]
        rows = {"df": post[f"df_{group}"].values} if f"df_{group}" in post else {}  # gr(g, dist = "student")
        rows |= {f"sd({c})": post[sd_name(group, c)].values for b in blocks for c in b.sd_labels}
        for b in blocks:
            # the correlations of an ID (1 | p | g) are over all its blocks; gr(g, by = x): in each level of x
            for labels in b.cor_sets if b.correlated and b.leads else []:
                for k in range(len(labels)):
                    for j in range(k):
                        rows[f"cor({labels[j]},{labels[k]})"] = post[cor_name(group, labels[j], labels[k])].values
        random[group] = _table(rows, probs)
    spec_draws = {n: post[n].values for d in md.dpars if not (d.basis or d.corr) for n in d.names}
    spec_draws |= {_cor_label(n): post[n].values for d in md.dpars if d.corr for n in d.names}
    if md.family.ordinal:  # brms prints the fixed discrimination, disc = 1, with NA diagnostics
        spec_draws["disc"] = np.ones_like(post["b_" + md.fixef_names[0]].values)
    spec = _table(spec_draws, probs)
    rescor = _table({f"rescor({','.join(str(n).split('__')[1:])})": post[n].values for n in post.data_vars
                     if str(n).startswith("rescor__")}, probs)
    mcmc = is_mcmc(fit.settings)
    if not mcmc:  # no Markov chains: brmc prints NA where Rhat and ESS have no meaning
        for frame in (fixed, spec, smooth, gp, simplex, autocor, rescor, *random.values()):
            frame[["Rhat", "Bulk_ESS", "Tail_ESS"]] = np.nan
    return Summary(
        header=[],
        fixed=fixed,
        random=random,
        spec_pars=spec,
        smooth=smooth,
        gp=gp,
        autocor=autocor,
        simplex=simplex,
        rescor=rescor,
        nlevels={g: next(b.n_levels for b in md.blocks if b.group == g) for g in md.groups()},
        sampler=f"{fit.settings.backend}(NUTS)" if mcmc else SAMPLERS[fit.settings.algorithm],
        mcmc=mcmc,
    )


def header_lines(fit: Fit) -> list[str]:
    """The header lines of brms's summary (with brms's trailing spaces); a ``bf()`` formula
    prints one line per distributional parameter."""
    s = fit.settings
    total = fit.idata.posterior.sizes["chain"] * fit.idata.posterior.sizes["draw"]
    chains, iter_, warmup, thin = s.chains, s.iter, s.warmup, s.thin
    if not is_mcmc(s) and s.algorithm != "fixed_param":  # brms's header for non-MCMC draws
        chains, iter_, warmup, thin = fit.idata.posterior.sizes["chain"], total, 0, 1
    formulas = fit.formula.lines()
    return [
        f" Family: {fit.family.name} ",
        f"  Links: {fit.model_data.links_text()} ",
        f"Formula: {formulas[0]} ",
        *[f"         {line}" for line in formulas[1:]],
        f"   Data: {fit.model_data.data_name} (Number of observations: {fit.nobs}) ",
        f"  Draws: {chains} chains, each with iter = {iter_}; warmup = {warmup}; thin = {thin};",
        f"         total post-warmup draws = {total}",
    ]


def _base_row(frame: pd.DataFrame, i: int, columns: list[str]) -> pd.Series | None:
    """brms's ``stan_base_prior``: among the rows without a coef of row ``i``'s class (its
    group or none, same dpar, nlpar, resp) that set any of ``columns``, the most specific."""
    row = frame.iloc[i]
    same = (frame["group"].isin([row["group"], ""]) & (frame["coef"] == "")
            & (frame[columns] != "").any(axis=1))
    for col in ("class", "dpar", "nlpar", "resp"):
        same &= frame[col] == row[col]
    candidates = frame[same]
    if candidates.empty:
        return None
    for col in ("group", "nlpar", "dpar", "resp", "class"):
        if (candidates[col] != "").any():
            candidates = candidates[candidates[col] != ""]
    return candidates.iloc[0]


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    """brms's ``prepare_print_prior``: a row without a prior of its own shows the prior
    (and bounds) it inherits from its class or group row, marked ``(vectorized)``;
    rows that inherit none show ``(flat)``.

    Example:
        >>> tab = pd.DataFrame({"prior": ["student_t(3, 0, 2.5)", ""], "class": ["sd", "sd"],
        ...                     "coef": ["", ""], "group": ["", "g"], "resp": "", "dpar": "", "nlpar": "",
        ...                     "lb": ["0", ""], "ub": "", "source": "default"})
        >>> _display(tab)[["prior", "group", "lb", "source"]].iloc[1].tolist()
        ['student_t(3, 0, 2.5)', 'g', '0', '(vectorized)']
    """
    out = frame.reset_index(drop=True).astype({c: str for c in ("prior", "lb", "ub", "source")})
    out.loc[out["source"] == "", "source"] = "(unknown)"
    for i in np.flatnonzero((out["prior"] == "").to_numpy()):
        base = _base_row(out, i, ["prior"])
        if base is None:
            out.loc[i, "prior"] = "(flat)"
        else:
            out.loc[i, ["prior", "source"]] = [base["prior"], "(vectorized)"]
    for i in np.flatnonzero(((out["lb"] == "") & (out["ub"] == "")).to_numpy()):
        base = _base_row(out, i, ["lb", "ub"])
        if base is not None:
            out.loc[i, ["lb", "ub"]] = [base["lb"], base["ub"]]
    return out


def format_prior_table(frame: pd.DataFrame) -> str:
    """A prior table as brms prints it: inherited priors and bounds filled in, as brms's
    ``print.brmsprior`` does, and ``(flat)`` for no prior at all."""
    return format_table(_display(frame).astype(str), row_names=False)


class PriorTable(pd.DataFrame):
    """A prior table (``get_prior`` / ``prior_summary``) that prints like brms's.

    Slicing gives plain DataFrames.
    """

    @property
    def _constructor(self):
        return pd.DataFrame

    def __repr__(self) -> str:
        return format_prior_table(pd.DataFrame(self))

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return _display(pd.DataFrame(self)).to_html(index=False)
