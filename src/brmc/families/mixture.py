"""brms's finite mixtures: ``mixture(gaussian, gaussian)``.

A mixture of K families has, as brms 2.18, one location predictor per component
(``mu1``, ``mu2``, ...; each with its component's link), the components' other
distributional parameters numbered the same way (``sigma1``, ``sigma2``) and the
mixing proportions ``theta1`` ... ``thetaK``, one simplex with a ``dirichlet(1)``
prior (brms's class ``theta``).  The likelihood is
``log_sum_exp_k(log(theta_k) + log p_k(y))`` (PyMC's ``Mixture``), the expected
value ``sum_k theta_k E_k``.  With ``order = "mu"`` (brms's default for mixtures of
one family) the components' intercepts are ordered, ``Intercept_mu1 < Intercept_mu2``,
so that the components cannot swap.

Example:
    >>> from brmc.families import get_family
    >>> mix = mixture_of((get_family("gaussian"), get_family("gaussian")))
    >>> mix.name, [d.name for d in mix.dpars], mix.order
    ('mixture(gaussian, gaussian)', ['sigma1', 'sigma2', 'theta'], 'mu')
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import partial

import pymc as pm

from ..errors import FamilyError
from .core import DistPar, Family

#: brms's ``order`` values
ORDERS = ("none", "mu")


def _component_dpars(f: Family, k: int, d: dict) -> dict:
    """The dpars of component ``k`` (0-based) by their own names: sigma2 → sigma."""
    return {p.name: d[f"{p.name}{k + 1}"] for p in f.components[k].dpars}


def _mixture_dist(f: Family, eta, d: dict, add: dict):
    """PyMC's Mixture of the components, each on its own ``eta`` (last axis), weights ``theta``."""
    parts = [c.dist(c, eta[..., k], _component_dpars(f, k, d), add) for k, c in enumerate(f.components)]
    return pm.Mixture.dist(w=d["theta"], comp_dists=parts)


def _mixture_epred(components: tuple[Family, ...], eta, d: dict, add: dict):
    """brms's posterior_epred_mixture: the theta-weighted sum of the components' means
    (``eta``: the components' linear predictors on a last axis)."""
    return sum(d["theta"][..., k] * c.expected(eta[..., k], {p.name: d[f"{p.name}{k + 1}"] for p in c.dpars}, add)
               for k, c in enumerate(components))


def mixture_of(components: tuple[Family, ...], order: str | bool | None = None) -> Family:
    """The mixture of the family records ``components`` (brms's ``mixture()``; see
    :func:`brmc.families.mixture` for the arguments).

    Example:
        >>> from brmc.families import get_family
        >>> mixture_of((get_family("gaussian"), get_family("student")), order=True).order
        'mu'
    """
    if len(components) < 2:
        raise FamilyError("A mixture needs at least 2 component families, e.g. mixture(gaussian, gaussian).")
    for c in components:
        if c.polytomous or c.multicol or c.components or any(p.scale is not None for p in c.dpars):
            raise FamilyError(f"Family '{c.name}' cannot be a mixture component in brmc (ordinal, categorical, "
                              "gen_extreme_value and nested mixtures are not supported; multinomial, dirichlet "
                              "and logistic_normal neither, as in brms).")
    if len({c.kind == "count" for c in components}) > 1:
        raise FamilyError("Cannot mix families with real and integer support (brms's rule).")
    if order is None:
        order = "mu" if len({c.name for c in components}) == 1 else "none"
    elif isinstance(order, bool):
        order = "mu" if order else "none"
    if order not in ORDERS:
        raise FamilyError(f"Argument 'order' of mixture() is invalid: {order!r}. Valid options are: none, mu.")
    dpars = tuple(replace(p, name=f"{p.name}{k}") for k, c in enumerate(components, 1) for p in c.dpars)
    theta = DistPar("theta", default_prior="dirichlet(1)", size=len(components))  # a simplex: no bounds
    first = components[0]
    return Family(name=f"mixture({', '.join(c.name for c in components)})", link="identity", links=("identity",),
                  dpars=(*dpars, theta), dist=_mixture_dist, response=first.response,
                  epred=partial(_mixture_epred, components), kind=first.kind, log_scale=first.log_scale,
                  components=components, order=order)


def parse_mixture(text: str) -> tuple[list[str], str | bool | None] | None:
    """The component names and ``order`` of a family text such as
    ``"mixture(gaussian, gaussian, order = 'none')"``, or None when the text is not a mixture.

    Example:
        >>> parse_mixture("mixture(gaussian, student(), order = FALSE)")
        (['gaussian', 'student'], False)
    """
    found = re.fullmatch(r"\s*mixture\s*\((.*)\)\s*", text)
    if found is None:
        return None
    names, options = [], {}
    for part in (p.strip() for p in found.group(1).split(",") if p.strip()):
        key, equals, value = part.partition("=")
        if equals:
            options[key.strip()] = value.strip().strip("'\"")
        else:
            names.append(part.removesuffix("()"))
    unknown = set(options) - {"order"}
    if unknown:
        raise FamilyError(f"mixture() takes the component families and 'order'; got {', '.join(sorted(unknown))}.")
    order = options.get("order")
    return names, {"TRUE": True, "FALSE": False, "True": True, "False": False}.get(order, order)
