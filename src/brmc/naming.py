"""brms's names, made in one place (brms's ``rename_pars.R``): the names of the draws
(``b_``, ``sd_``, ``cor_``, ``r_``, thresholds ``b_Intercept[k]``), the ``dpar`` parts of
names (``sigma_Days``, ``r_Subject__sigma``), the suffixes of model variables
(``b_sigma``, ``Intercept_sigma``), and the renaming of raw draws into brms's posterior.

Each kind of term (:mod:`brmc.terms`) renames its own draws with these names
(:meth:`~brmc.terms.base.TermKind.rename`); :func:`brms_posterior` orders the
sections as brms does.

Example:
    >>> coef_label("sigma", "Days"), b_name("sigma", "Days"), sd_name("Subject", "Intercept")
    ('sigma_Days', 'b_sigma_Days', 'sd_Subject__Intercept')
    >>> cor_name("Subject", "Intercept", "Days"), r_name("Subject", "sigma"), suffix("sigma")
    ('cor_Subject__Intercept__Days', 'r_Subject__sigma', '_sigma')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .families import DistPar
from .graph import cholesky_from_raw

if TYPE_CHECKING:
    from .data import LinearPredictor, ModelData

#: the sections of brms's posterior, in its order; a kind's own sections come after ``b``
SECTIONS = ("intercepts", "b", "sd", "cor", "dpars", "temporary", "r", "Ymi", "Yl")


def coef_label(dpar: str, coef: str) -> str:
    """brms's name of a coefficient of ``dpar``'s linear predictor: ``Days`` for ``mu``, else ``sigma_Days``."""
    return coef if dpar == "mu" else f"{dpar}_{coef}"


def prefix(dpar: str, resp: str = "", nlpar: str = "") -> str:
    """brms's ``combine_prefix``: what stands for a predictor in names, its dpar, the response of a
    multivariate model and its non-linear parameter, in that order (``mu`` when none is there, as
    :func:`coef_label` takes it).

    Example:
        >>> prefix("mu"), prefix("mu", "english"), prefix("sigma", "english"), prefix("mu", "cum", "ult")
        ('mu', 'english', 'sigma_english', 'cum_ult')
    """
    return "_".join(p for p in (table_dpar(dpar), resp, nlpar) if p) or "mu"


def table_dpar(dpar: str) -> str:
    """The ``dpar`` column of a prior row: empty for ``mu``, as brms prints it.

    Example:
        >>> table_dpar("mu"), table_dpar("sigma")
        ('', 'sigma')
    """
    return "" if dpar == "mu" else dpar


def suffix(dpar: str) -> str:
    """The suffix of a predictor's model variables: ``""`` for ``mu``, ``_sigma`` (``b_sigma``, ``Xc_sigma``)."""
    return "" if dpar == "mu" else f"_{dpar}"


def b_name(dpar: str, coef: str) -> str:
    """A population-level effect: ``b_Days``, ``b_sigma_Intercept``."""
    return f"b_{coef_label(dpar, coef)}"


#: brms's ``fixef_pars()`` besides ``b_``: the smooths' ``bs_``, monotonic ``bsp_`` and
#: category-specific ``bcs_`` coefficients are population-level effects too
FIXEF_PREFIXES = ("bs_", "bsp_", "bcs_")


def fixef_variables(posterior: xr.Dataset, md: ModelData) -> dict[str, str]:
    """brms's rows of ``fixef`` and of the summary's population-level effects: each row's
    name (``Intercept``, ``treat[1]``) → its variable in the draws (``b_Intercept``,
    ``bcs_treat[1]``), the ``b_`` ones first, then the others in the draws' order.

    Parameters
    ----------
    posterior : xarray.Dataset
        The draws, with brms's names.
    md : ModelData
        The model's data (its ``mu`` coefficients).

    Returns
    -------
    dict of str to str

    Examples
    --------
    >>> fixef_variables(fit.idata.posterior, fit.model_data)
    {'Intercept': 'b_Intercept', 'Days': 'b_Days'}
    """
    out = {n: b_name("mu", n) for n in md.fixef_names}
    return out | {str(v).removeprefix(p): str(v) for p in FIXEF_PREFIXES for v in posterior.data_vars
                  if str(v).startswith(p)}


def threshold_name(k: int) -> str:
    """The ``k``-th threshold of an ordinal model (from 1), as ``fixef`` names it: ``Intercept[1]``."""
    return f"Intercept[{k}]"


def threshold_parts(md: Any) -> list[tuple[LinearPredictor, int]]:
    """The ordinal thresholds of a model: (the ``mu`` predictor, their number) of each ordinal response, a
    multivariate model's (:class:`~brmc.mvdata.MvModelData`, its ``responses``) each; sampled as
    ``Intercept<suffix>`` (``Intercept``, ``Intercept_y1``), named ``b_<prefix>_Intercept[k]``.

    Example:
        >>> [(lp.pname, k) for lp, k in threshold_parts(fit.model_data)]
        []
    """
    models = md.responses.values() if hasattr(md, "responses") else [md]
    return [(m.predictors["mu"], m.thresholds) for m in models if m.thresholds]


def ordered_intercept(resp: str = "") -> str:
    """The ordered intercepts of a mixture's ``mu1``, ``mu2``, ... (brms's ``ordered_Intercept``; of response
    ``y1`` of a multivariate model ``ordered_Intercept_y1``).

    Example:
        >>> ordered_intercept(), ordered_intercept("y1")
        ('ordered_Intercept', 'ordered_Intercept_y1')
    """
    return f"ordered_Intercept{suffix(prefix('mu', resp))}"


def sd_name(group: str, label: str) -> str:
    """A group-level standard deviation: ``sd_Subject__Days`` (``label`` from :func:`coef_label`)."""
    return f"sd_{group}__{label}"


def cor_name(group: str, label1: str, label2: str) -> str:
    """A group-level correlation: ``cor_Subject__Intercept__Days``."""
    return f"cor_{group}__{label1}__{label2}"


def r_name(group: str, dpar: str) -> str:
    """A block's group-level effects: ``r_Subject``, or ``r_Subject__sigma``."""
    return f"r_{group}" if dpar == "mu" else f"r_{group}__{dpar}"


def r_level_dim(group: str) -> str:
    """The level dimension of group-level effects: ``Subject__level``."""
    return f"{group}__level"


def r_coef_dim(r: str) -> str:
    """The coefficient dimension of the effects :func:`r_name` names: ``Subject__coef``."""
    return f"{r.removeprefix('r_')}__coef"


#: brms's ``rename()``: characters dropped or spelled out in its names
_RENAME = {" ": "", "(": "", ")": "", "[": "", "]": "", ",": "", '"': "", "'": "", "?": "",
           "+": "P", "-": "M", "*": "MU", "/": "D", "^": "E", "=": "EQ"}


def brms_rename(text: str) -> str:
    """brms's ``rename()`` of a name: ``s(times)`` → ``stimes``.

    Example:
        >>> brms_rename("s(craven):gendergirl_1")
        'scraven:gendergirl_1'
    """
    return "".join(_RENAME.get(ch, ch) for ch in text)


def prior_name(class_: str, coef: str = "", group: str = "", dpar: str = "", per_coef: bool = False) -> str:
    """brms's name of the prior draws of a class (``sample_prior = "yes"``), or of one of its
    coefficients when ``per_coef`` (a user gave coefficient priors).

    Example:
        >>> prior_name("sd", group="Subject"), prior_name("sd", "Days", "Subject", per_coef=True)
        ('prior_sd_Subject', 'prior_sd_Subject__Days')
    """
    sfx = f"_{dpar}" if dpar else ""
    if class_ == "b":
        return f"prior_b{sfx}_{coef}" if per_coef else f"prior_b{sfx}"
    if class_ == "Intercept":
        return f"prior_Intercept__{coef}" if per_coef and coef else f"prior_Intercept{sfx}"
    if class_ == "sd":
        return (f"prior_{sd_name(group, coef_label(dpar or 'mu', coef))}" if per_coef
                else f"prior_sd_{group}" + (f"__{dpar}" if dpar else ""))
    if class_ == "cor":
        return f"prior_cor_{group}"
    return f"prior_{class_}"


def cor_names(raw: xr.Dataset, d: DistPar) -> dict[str, np.ndarray]:
    """The correlations of a correlation-matrix dpar (logistic_normal's ``lncor``) by their brms names
    (``lncor__p2__p3``, :attr:`DistPar.labels`), from the raw draws of its Cholesky factor's ``L<name>_raw``."""
    return correlations(raw, d.parameter, d.corr, d.labels) if d.corr >= 2 else {}


def correlations(raw: xr.Dataset, parameter: str, M: int, labels: list[str]) -> dict[str, np.ndarray]:
    """The correlations of an ``M`` x ``M`` correlation matrix sampled as its Cholesky factor ``parameter``
    (raw draws ``<parameter>_raw``), named ``labels`` in brms's order (``get_cornames``: (1, 2), (1, 3),
    (2, 3), (1, 4), ...); :func:`cholesky_of_correlations` is the way back.

    Example:
        >>> raw = xr.Dataset({"L_raw": (("chain", "draw", "k"), np.zeros((1, 2, 1)))})
        >>> correlations(raw, "L", 2, ["cor__a__b"])["cor__a__b"].shape
        (1, 2)
    """
    L = cholesky_from_raw(np.asarray(raw[f"{parameter}_raw"].values), M)
    cor = L @ np.swapaxes(L, -1, -2)
    pairs = [(j, k) for k in range(M) for j in range(k)]
    return {label: cor[..., j, k] for label, (j, k) in zip(labels, pairs)}


def correlation_matrices(posterior: xr.Dataset, M: int, labels: list[str]) -> np.ndarray:
    """The correlation matrices (chain, draw, M, M) whose correlations are the draws ``labels`` (in
    :func:`correlations`'s order).

    Example:
        >>> post = xr.Dataset({"c": (("chain", "draw"), np.full((1, 1), 0.6))})
        >>> correlation_matrices(post, 2, ["c"])[0, 0]
        array([[1. , 0.6],
               [0.6, 1. ]])
    """
    cor = np.tile(np.eye(M), (posterior.sizes["chain"], posterior.sizes["draw"], 1, 1))
    for label, (j, k) in zip(labels, [(row, col) for col in range(M) for row in range(col)]):
        cor[..., j, k] = cor[..., k, j] = posterior[label].values
    return cor


def cholesky_of_correlations(posterior: xr.Dataset, M: int, labels: list[str]) -> np.ndarray:
    """The Cholesky factors (chain, draw, M, M) of :func:`correlation_matrices`.

    Example:
        >>> post = xr.Dataset({"c": (("chain", "draw"), np.full((1, 1), 0.6))})
        >>> np.round(cholesky_of_correlations(post, 2, ["c"])[0, 0], 2)
        array([[1. , 0. ],
               [0.6, 0.8]])
    """
    return np.linalg.cholesky(correlation_matrices(posterior, M, labels))


def brms_posterior(raw: xr.Dataset, md: ModelData, parts: Callable[[LinearPredictor], list[tuple[Any, Any]]]
                   ) -> xr.Dataset:
    """Turn raw model draws into brms's parameters, names and order.

    Each kind of term renames its own draws (``b_Intercept = Intercept - means_X · b``,
    ``sd_<g>__<coef>``, ``cor_<g>__<c1>__<c2>``, ``r_<g>``: levels × coefficients); here
    come the ordinal thresholds (``b_Intercept[k] = Intercept[k] + means_X · b``) and the
    family parameters, and the sections in brms's order (:data:`SECTIONS`): intercepts
    before the other coefficients.  ``parts`` is :func:`brmc.terms.parts` (the kinds import
    this module for their names, so it does not import them).
    """
    sections: dict[str, dict[str, np.ndarray | xr.DataArray]] = {s: {} for s in SECTIONS}
    for mu, nthres in threshold_parts(md):
        shift = np.asarray(raw[f"b{mu.suffix}"].values) @ mu.means_X if mu.b_names else 0.0
        for k in range(nthres):
            sections["intercepts"][b_name(mu.pname, threshold_name(k + 1))] = (
                np.asarray(raw[f"Intercept{mu.suffix}"].values)[..., k] + shift)
    for lp in md.predictors.values():
        for kind, part in parts(lp):
            for section, named in kind.rename(raw, lp, part).items():
                sections.setdefault(section, {}).update(named)
    for d in md.dpars:  # a simplex (a mixture's theta) as theta1, theta2, ...; correlations: cor_names()
        if d.corr:
            sections["dpars"] |= cor_names(raw, d)
            continue
        values = np.asarray(raw[d.parameter].values)
        sections["dpars"] |= {n: values[..., k] for k, n in enumerate(d.names)} if d.size else {d.parameter: values}
    order = sorted(sections, key=lambda s: SECTIONS.index(s) if s in SECTIONS else SECTIONS.index("b") + 0.5)
    out = {name: v if isinstance(v, xr.DataArray) else xr.DataArray(v, dims=("chain", "draw"))
           for s in order for name, v in sections[s].items()}
    return xr.Dataset(out, coords={"chain": raw["chain"].values, "draw": raw["draw"].values})
