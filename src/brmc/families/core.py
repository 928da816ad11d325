"""The family record and what every family shares: links, distributional parameters,
response checks and brms's family options.

Each record's ``dist`` builds the PyMC distribution from the linear predictor,
and that one definition serves sampling, the pointwise log-likelihood and
posterior predictive draws, so they cannot drift apart.

Example:
    >>> SIGMA.name, SIGMA.lb, SIGMA.links[0]
    ('sigma', 0.0, 'log')
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from scipy import special, stats

from ..censoring import censored_logp, truncated_log_mass
from ..distributions import Dist, parse_dist
from ..errors import FamilyError

#: link name → (inverse link on tensors, link on numpy arrays, inverse link on numpy arrays)
LINKS: dict[str, tuple[Callable, Callable, Callable]] = {
    "identity": (lambda x: x, lambda y: y, lambda x: x),
    "log": (pt.exp, np.log, np.exp),
    "logit": (pt.sigmoid, special.logit, special.expit),
    "probit": (lambda x: 0.5 * pt.erfc(-x / np.sqrt(2.0)), stats.norm.ppf, stats.norm.cdf),
    "cloglog": (lambda x: 1 - pt.exp(-pt.exp(x)), lambda p: np.log(-np.log1p(-p)), lambda x: -np.expm1(-np.exp(x))),
    "inverse": (lambda x: 1 / x, lambda y: 1 / y, lambda x: 1 / x),
    "sqrt": (pt.sqr, np.sqrt, np.square),
    "logm1": (lambda x: pt.exp(x) + 1, lambda y: np.log(y - 1), lambda x: np.exp(x) + 1),
    "softplus": (pt.softplus, lambda y: np.log(np.expm1(y)), lambda x: np.logaddexp(0.0, x)),
    "squareplus": (lambda x: (x + pt.sqrt(pt.sqr(x) + 4)) / 2, lambda y: (y**2 - 1) / y,
                   lambda x: (x + np.sqrt(x**2 + 4)) / 2),
    "cauchit": (lambda x: 0.5 + pt.arctan(x) / np.pi, stats.cauchy.ppf, stats.cauchy.cdf),
    "1/mu^2": (lambda x: 1 / pt.sqrt(x), lambda y: 1 / y**2, lambda x: 1 / np.sqrt(x)),
    "tan_half": (lambda x: 2 * pt.arctan(x), lambda y: np.tan(y / 2), lambda x: 2 * np.arctan(x)),
    "log1p": (pt.expm1, np.log1p, np.expm1),
}
#: links on which brms computes data-based default priors (``def_scale_prior``).
DATA_PRIOR_LINKS = ("identity", "log", "inverse", "sqrt", "1/mu^2")


def with_se(dpars: dict, additions: dict) -> dict:
    """``dpars`` with known standard errors ``se()`` folded into ``sigma`` (brms's ``add_sigma_se``):
    ``sqrt(sigma^2 + se^2)`` with ``se(s, sigma = TRUE)``, else ``se`` alone (tensors or NumPy arrays).

    Example:
        >>> with_se({"sigma": np.array([4.0])}, {"se": np.array([3.0]), "se_sigma": True})["sigma"]
        array([5.])
    """
    if "se" not in additions:
        return dpars
    se = additions["se"]
    if not additions.get("se_sigma"):
        return {**dpars, "sigma": se}
    root = np.sqrt if isinstance(dpars["sigma"], np.ndarray) else pt.sqrt
    return {**dpars, "sigma": root(se**2 + dpars["sigma"] ** 2)}


def inverse_link(link: str, eta):
    """Apply the inverse of ``link`` to a NumPy array or a tensor.

    Example:
        >>> float(inverse_link("log", np.array(0.0)))
        1.0
    """
    return LINKS[link][2 if isinstance(eta, (np.ndarray, np.generic, float)) else 0](eta)


@dataclass(frozen=True)
class DistPar:
    """A distributional parameter other than ``mu`` (``sigma``, ``nu``, ``shape``...).

    ``default_prior`` is its prior when estimated as one number, ``None`` for
    brms's data-based ``student_t(3, 0, scale)``; it and ``link_prior`` are
    :class:`~brmc.distributions.Dist` objects, which may be written as brms's text
    (``"gamma(2, 0.1)"``), parsed once when the record is made.  An upper bound of ``"min_Y"``
    (shifted_lognormal's ``ndt``) is the smallest response value, as brms's.  When it is predicted
    (``bf(..., sigma ~ x)``) its linear predictor uses ``link`` (one of
    ``links``, the first being brms's default) and its intercept takes
    ``default_prior`` under the identity link, else ``link_prior`` (``None``:
    data-based, ``""``: flat), as brms's ``def_dprior``.  A ``per_category`` dpar (logistic_normal's
    ``sigma``) is one per non-reference category once the categories are known (``sigmap2``, ``sigmap3``,
    each of class ``cls``); a ``corr`` dpar is a correlation matrix of that dimension (``lncor``), sampled
    as its Cholesky factor ``L<name>`` and named by its ``labels`` (``lncor__p2__p3``).
    A dpar with a ``scale`` (gen_extreme_value's
    ``xi``) is sampled unbounded as ``tmp_<name>`` (its prior is the class's) and, when not
    predicted, mapped by ``scale(tmp, y, mu, dpars)`` to where the likelihood of the training
    response is positive, as brms's ``scale_xi``.
    """

    name: str
    lb: float | None = None
    ub: float | str | None = None
    default_prior: Dist | str | None = None
    links: tuple[str, ...] = ("identity",)
    link_prior: Dist | str | None = None
    link: str = ""
    scale: Callable | None = field(default=None, compare=False, repr=False)
    size: int = 0
    basis: bool = False
    per_category: bool = False
    corr: int = 0
    labels: tuple[str, ...] = ()
    cls: str = ""
    resp: str = ""  # of a multivariate model, its response, at the end of ``name``: ``theta_y1``

    def __post_init__(self) -> None:
        if not self.link:
            object.__setattr__(self, "link", self.links[0])
        for name in ("default_prior", "link_prior"):  # "" stays: brms's flat prior, not "data-based"
            text = getattr(self, name)
            if isinstance(text, str) and text:
                object.__setattr__(self, name, parse_dist(text))

    @property
    def names(self) -> list[str]:
        """Its names in the draws: ``theta1``, ``theta2``, ... for a simplex of ``size`` K (a ``basis``'s
        coefficients as ``sbhaz[1]``, ``sbhaz[2]``, ...; ``theta1_y1`` of response ``y1``), else its name."""
        if self.corr:
            return list(self.labels)
        if self.basis:
            return [f"{self.name}[{k}]" for k in range(1, self.size + 1)]
        if not self.size:
            return [self.name]
        tail = f"_{self.resp}" if self.resp else ""  # a multivariate model's theta1_y1, theta2_y1
        return [f"{self.name.removesuffix(tail)}{k}{tail}" for k in range(1, self.size + 1)]

    @property
    def parameter(self) -> str:
        """The name of the model parameter sampled for it: ``tmp_xi`` for a scaled dpar, ``Llncor`` for a
        correlation matrix."""
        return f"tmp_{self.name}" if self.scale is not None else f"L{self.name}" if self.corr else self.name

    @property
    def intercept_prior(self) -> Dist | str | None:
        """The default prior of its intercept when predicted (``None``: data-based; ``""``: flat)."""
        return self.default_prior if self.link == "identity" else self.link_prior


#: brms's distributional parameters with their bounds, default priors and links (brms 2.18)
_POSITIVE_LINKS = ("log", "identity", "softplus", "squareplus")
SIGMA = DistPar("sigma", lb=0.0, links=_POSITIVE_LINKS)
SHAPE = DistPar("shape", lb=0.0, default_prior="gamma(0.01, 0.01)", links=_POSITIVE_LINKS,
                link_prior="student_t(3, 0, 2.5)")
NU = DistPar("nu", lb=1.0, default_prior="gamma(2, 0.1)", links=("logm1", "identity"), link_prior="normal(2.7, 0.8)")
PHI = DistPar("phi", lb=0.0, default_prior="gamma(0.01, 0.01)", links=_POSITIVE_LINKS,
              link_prior="student_t(3, 0, 2.5)")
ALPHA = DistPar("alpha", default_prior="normal(0, 4)", links=("identity", "log", "softplus", "squareplus"),
                link_prior="normal(0, 4)")
ZI = DistPar("zi", lb=0.0, ub=1.0, default_prior="beta(1, 1)", links=("logit", "identity"),
             link_prior="logistic(0, 1)")
HU = DistPar("hu", lb=0.0, ub=1.0, default_prior="beta(1, 1)", links=("logit", "identity"),
             link_prior="logistic(0, 1)")


@dataclass(frozen=True)
class Family:
    """One response family.

    ``dist(eta, dpars, additions)`` returns the PyMC distribution of the
    response given the linear predictor ``eta`` (tensor or array; for
    ``categorical`` one per category on the last axis);
    ``epred(mu, dpars, additions)`` the expected response given ``mu`` (the
    inverse-linked ``eta``); ``response(y, additions)`` checks and codes the
    response.  ``kind`` is ``"continuous"``, ``"count"``, ``"binary"``,
    ``"ordinal"``, ``"categorical"``, ``"multinomial"`` or ``"simplex"`` (a ``cbind()`` matrix of counts
    or of proportions); ``log_scale`` families (lognormal) take
    brms's data-based priors on log(y); ``refcat`` the reference category of ``categorical`` and the matrix families
    (``None``: the first); ``categories`` those of a matrix response once the data are read;
    ``response_additions(y, additions)`` the data a family computes from its
    response (cox's baseline-hazard bases); ``numpy_logp(y, mu, dpars, additions)`` the pointwise
    log-likelihood on NumPy arrays where evaluating the model's graph on them is slow (wiener's series).

    Example:
        >>> import brmc
        >>> fam = brmc.get_family("poisson")
        >>> fam.name, fam.link, fam.links, fam.kind
        ('poisson', 'log', ('log', 'sqrt', 'identity'), 'count')
    """

    name: str
    link: str
    links: tuple[str, ...]
    dpars: tuple[DistPar, ...]
    dist: Callable = field(compare=False, repr=False)
    response: Callable = field(compare=False, repr=False)
    epred: Callable = field(default=lambda mu, dpars, add: mu, compare=False, repr=False)
    kind: str = "continuous"
    log_scale: bool = False
    extra_links: tuple[str, ...] = ()
    refcat: str | None = None
    probabilities: Callable | None = field(default=None, compare=False, repr=False)
    ordered: bool = True
    components: tuple[Family, ...] = ()
    order: str = "none"
    response_additions: Callable | None = field(default=None, compare=False, repr=False)
    categories: tuple[str, ...] = ()
    numpy_logp: Callable | None = field(default=None, compare=False, repr=False)

    @property
    def ordinal(self) -> bool:
        return self.kind == "ordinal"

    @property
    def categorical(self) -> bool:
        return self.kind == "categorical"

    @property
    def multicol(self) -> bool:
        """Whether the response is a matrix of columns, ``cbind(y1, y2, y3)`` (brms's ``has_multicol``):
        counts for ``multinomial``, rows on the simplex for ``dirichlet``."""
        return self.kind in {"multinomial", "simplex"}

    @property
    def cats_dpars(self) -> bool:
        """Whether ``mu`` is one predictor per non-reference category, ``mu<cat>`` (brms's
        ``conv_cats_dpars``): categorical and the matrix-response families."""
        return self.categorical or self.multicol

    @property
    def mixture(self) -> bool:
        """Whether it is a mixture of ``components`` (brms's ``mixture()``)."""
        return bool(self.components)

    def mu_link(self, dpar: str) -> str:
        """The link of a location predictor: ``mu``'s, or a mixture's ``mu2`` its second component's."""
        return self.components[int(dpar[2:]) - 1].link if self.mixture else self.link

    @property
    def polytomous(self) -> bool:
        """Whether the response is one of several categories (ordinal or categorical)."""
        return self.kind in {"ordinal", "categorical"}

    def dpar(self, name: str) -> DistPar:
        """The distributional parameter called ``name``.

        Example:
            >>> import brmc
            >>> brmc.get_family("student").dpar("nu").link
            'logm1'
        """
        return next(d for d in self.dpars if d.name == name)

    def inverse_link_np(self, eta: np.ndarray) -> np.ndarray:
        """Apply the inverse link to a NumPy array."""
        return LINKS[self.link][2](eta)

    def link_np(self, y: np.ndarray) -> np.ndarray:
        """Apply the link to a NumPy array."""
        return LINKS[self.link][1](y)

    def mu(self, eta):
        """The mean parameter from the linear predictor (tensor or array)."""
        return inverse_link(self.link, eta)

    def response_dist(self, eta, dpars: dict, additions: dict):
        """The response distribution, with known standard errors (``se()``) folded into sigma."""
        return self.dist(self, eta, with_se(dpars, additions), additions)

    def scale_dpars(self, y, eta, dpars: dict, estimated: list[str]) -> dict:
        """``dpars`` with each estimated (not predicted) dpar that has a ``scale`` mapped from its
        sampled ``tmp_`` value to the likelihood's (gen_extreme_value's ``xi``), given the training
        response ``y`` and the linear predictor ``eta`` (tensors, or NumPy draws on leading axes).

        Example:
            >>> import brmc
            >>> fam = brmc.get_family("gen_extreme_value")
            >>> out = fam.scale_dpars(np.array([-1.0, 2.0]), np.zeros((1, 2)),
            ...                       {"sigma": np.ones((1, 1)), "xi": np.zeros((1, 1))}, ["sigma", "xi"])
            >>> out["xi"].round(3).tolist()  # halfway between -1/2 and 1
            [[0.25]]
        """
        scaled = {d.name: d.scale(dpars[d.name], y, self.mu(eta), dpars) for d in self.dpars
                  if d.scale is not None and d.name in estimated}
        return {**dpars, **scaled}

    def pointwise_logp(self, y, eta, dpars: dict, additions: dict):
        """Each observation's log-likelihood as brms writes it: censoring
        (``cens()``) through the log cdf and survival function
        (:func:`brmc.censoring.censored_logp`), truncation (``trunc()``) minus the log probability
        between the bounds (:func:`brmc.censoring.truncated_log_mass`), ``weights()`` multiplying (a tensor)."""
        dist = self.response_dist(eta, dpars, additions)
        cens = additions.get("cens")
        count = self.kind == "count"
        if cens is not None and np.any(cens != 0):
            out = censored_logp(dist, y, additions.get("y2", y), cens, count=count)
        else:
            out = pm.logp(dist, y)
        if "lb" in additions:
            out = out - truncated_log_mass(dist, y, additions["lb"], additions["ub"], count=count)
        weights = additions.get("weights")
        return out * weights if weights is not None else out

    def log_lik(self, y: np.ndarray, eta: np.ndarray, dpars: dict, additions: dict | None = None) -> np.ndarray:
        """Pointwise log-likelihood (NumPy in, NumPy out), from the same definition as sampling, or from
        ``numpy_logp`` where a family has one (wiener; it takes no ``cens()`` or ``trunc()``)."""
        if self.numpy_logp is not None:
            out = self.numpy_logp(y, self.mu(eta), dpars, additions or {})
            weights = (additions or {}).get("weights")
            return out * weights if weights is not None else out
        # Inputs are constants, so the rewrites fold the whole graph in NumPy anyway; without a C
        # compiler configured nothing is compiled (cold: 0.3 s instead of 1.3 s for sleepstudy).
        with pytensor.config.change_flags(cxx=""):
            return np.asarray(self.pointwise_logp(y, eta, dpars, additions or {}).eval())

    def rng(self, eta: np.ndarray, dpars: dict, generator: np.random.Generator, additions: dict | None = None):
        """Draw responses for each element of ``eta`` (posterior predictive).

        Count means too large to draw from (above 1e15, e.g. in prior predictive
        checks with wide priors) give NaN with a warning, as R's ``rpois`` gives NA.
        """
        seed = int(generator.integers(2**31))
        huge = np.zeros(np.shape(eta), dtype=bool)
        if self.kind == "count" and "trials" not in (additions or {}) and not self.mixture:
            huge = self.inverse_link_np(np.asarray(eta)) > 1e15
            eta = np.where(huge, self.link_np(np.float64(1.0)), eta)
        dist = self.response_dist(eta, dpars, additions or {})
        out = np.asarray(pm.draw(dist, random_seed=seed), dtype=float)
        if "lb" in (additions or {}):
            out = _redraw_outside(dist, out, additions["lb"], additions["ub"], seed)
        if huge.any():
            warnings.warn(f"{int(huge.sum())} predicted means were too large to draw from (> 1e15); "
                          "their draws are NaN.", UserWarning, stacklevel=3)
            out = np.where(huge, np.nan, out)
        return out

    def expected(self, eta: np.ndarray, dpars: dict, additions: dict) -> np.ndarray:
        """The expected response (brms's ``posterior_epred``); category probabilities
        (last axis) for ordinal and categorical families."""
        if self.ordinal:
            return self.probabilities(self, eta, dpars["thres"])
        if self.categorical:
            return special.softmax(eta, axis=-1)
        if self.multicol:  # a joint link over the categories: epred takes the linear predictors
            return self.epred(eta, dpars, additions)
        if "lb" in additions:
            return _truncated_mean(self, self.inverse_link_np(eta), dpars, additions)
        return self.epred(self.inverse_link_np(eta), dpars, additions)

    def options(self) -> dict[str, str]:
        """The choices made beyond the link: non-default dpar links (``link_sigma``), ``refcat``."""
        out = {f"link_{d.cls or d.name}": d.link for d in self.dpars if d.link != d.links[0]}
        if self.mixture:
            out = {**out, "order": self.order}
        return out | ({"refcat": self.refcat} if self.refcat is not None else {})

    def to_dict(self) -> dict:
        """A JSON-able description (enough to rebuild with :func:`family_from_dict`)."""
        return {"name": self.name, "link": self.link, **self.options()}


def _redraw_outside(dist, out: np.ndarray, lb: np.ndarray, ub: np.ndarray, seed: int, batches: int = 10):
    """Draws of a truncated response: those outside [lb, ub] drawn again, ten at a time, up to
    ``batches`` times (brms inverts the cdf where it can; the draws have the same distribution);
    any still outside are NaN, with a warning, as brms's discrete draws after its tries."""
    outside = (out < lb) | (out > ub)
    for batch in range(batches):
        if not outside.any():
            return out
        for more in np.asarray(pm.draw(dist, draws=10, random_seed=seed + 1 + batch), dtype=float):
            out = np.where(outside, more, out)
            outside = (out < lb) | (out > ub)
    if outside.any():
        warnings.warn(f"{int(outside.sum())} draws stayed outside the truncation bounds after {10 * batches} "
                      "tries; they are NaN.", UserWarning, stacklevel=4)
    return np.where(outside, np.nan, out)


def _truncated_mean(family: Family, mu, dpars: dict, additions: dict):
    """brms's posterior_epred_trunc_gaussian: mu + sigma (phi(a) - phi(b)) / (Phi(b) - Phi(a)),
    a, b the standardised bounds; other truncated families are refused, as brms refuses those
    it has no formula for."""
    if family.name != "gaussian":
        raise FamilyError(f"posterior_epred of a truncated (trunc()) '{family.name}' model is not "
                          "implemented in brmc yet (only gaussian); posterior_predict works for it.")
    sigma = dpars["sigma"]
    a, b = (additions["lb"] - mu) / sigma, (additions["ub"] - mu) / sigma
    return mu + sigma * (stats.norm.pdf(a) - stats.norm.pdf(b)) / (stats.norm.cdf(b) - stats.norm.cdf(a))


# ---------------------------------------------------------------- response checks
def _as_float(y: Any, family: str) -> np.ndarray:
    if np.asarray(y).dtype == object:
        example = next((v for v in y if not _is_number(v)), y[0])
        raise FamilyError(
            f"Family '{family}' needs a numeric response, but it is a factor or text column with "
            f"values such as {example!r}."
        )
    out = np.asarray(y, dtype=float)
    if not np.all(np.isfinite(out)):
        raise FamilyError(f"Family '{family}' needs a finite response; found infinite values.")
    return out


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _bad(family: str, what: str, y: np.ndarray, mask: np.ndarray) -> FamilyError:
    values = ", ".join(sorted({f"{v:g}" for v in y[mask]})[:5])
    return FamilyError(f"Family '{family}' needs {what}; the response has {int(mask.sum())} value(s) that "
                       f"are not, e.g. {values}.")


def _real(family: str) -> Callable:
    return lambda y, add: _as_float(y, family)


def _positive(family: str, zero_ok: bool = False) -> Callable:
    def check(y: Any, add: dict) -> np.ndarray:
        out = _as_float(y, family)
        bad = out < 0 if zero_ok else out <= 0
        if bad.any():
            raise _bad(family, "non-negative values" if zero_ok else "positive values", out, bad)
        return out
    return check


def _counts(family: str) -> Callable:
    def check(y: Any, add: dict) -> np.ndarray:
        out = _as_float(y, family)
        bad = (out < 0) | (out != np.round(out))
        if bad.any():
            raise _bad(family, "non-negative whole numbers (counts)", out, bad)
        if "trials" in add and (out > add["trials"]).any():
            raise _bad(family, "successes no larger than trials", out, out > add["trials"])
        return out
    return check


def _unit_interval(family: str) -> Callable:
    def check(y: Any, add: dict) -> np.ndarray:
        out = _as_float(y, family)
        bad = (out <= 0) | (out >= 1)
        if bad.any():
            raise _bad(family, "values strictly between 0 and 1", out, bad)
        return out
    return check


def _binary(y: Any, add: dict) -> np.ndarray:
    values = np.asarray(y)
    if values.dtype == object:
        levels = list(dict.fromkeys(values))
        if len(levels) != 2:
            raise FamilyError(f"Family 'bernoulli' needs a response with two values; got {len(levels)}: "
                              f"{', '.join(map(str, levels[:5]))}.")
        return (values == levels[1]).astype(float)
    out = np.asarray(values, dtype=float)
    bad = (out != 0) & (out != 1)
    if bad.any():
        raise _bad("bernoulli", "a response of 0/1 (or TRUE/FALSE, or a two-level factor)", out, bad)
    return out



def draw_size(size: tuple[int, ...] | None, *params) -> tuple[int, ...]:
    """The shape of a custom distribution's draws: ``size``, else its parameters' broadcast shape.

    Example:
        >>> draw_size(None, np.zeros(3), 1.0)
        (3,)
    """
    return tuple(size) if size is not None else np.broadcast_shapes(*(np.shape(p) for p in params))


def _linked(f: Family, eta):
    return f.mu(eta)


def _family(name: str, link: str, links: tuple[str, ...], dpars: tuple[DistPar, ...], dist: Callable,
            response: Callable, **kwargs) -> Callable[..., Family]:
    def make(link: str = link, **options: str) -> Family:
        family = Family(name=name, link=links[0], links=links, dpars=dpars, dist=dist, response=response, **kwargs)
        return _with_options(_with_link(family, link), options)
    make.__name__ = name
    make.__doc__ = (f"The {name} family (links: {', '.join(links)}).\n\n"
                    "Parameters\n----------\nlink : str\n    The link of ``mu``; the family's default when not given.\n"
                    "**options : str\n    brms's family arguments, as :func:`get_family` takes them.\n\n"
                    "Returns\n-------\nFamily\n\n"
                    f"Examples\n--------\n>>> import brmc\n>>> brmc.get_family('{name}').link\n'{link}'\n")
    return make


def _with_link(family: Family, link: str) -> Family:
    if link not in family.links:
        raise FamilyError(
            f"Link '{link}' is not available for family '{family.name}'. "
            f"Allowed links: {', '.join(family.links)}."
        )
    return replace(family, link=link)


def _with_options(family: Family, options: dict[str, str]) -> Family:
    """Apply brms's family options: ``link_<dpar>`` (the link of a predicted dpar) and ``refcat``."""
    allowed = [f"link_{d.name}" for d in family.dpars] + (["refcat"] if family.cats_dpars else [])
    for key, value in options.items():
        if key not in allowed:
            raise FamilyError(f"Family '{family.name}' has no option {key!r}; it takes: "
                              f"{', '.join(['link', *allowed])}.")
        if key == "refcat":
            family = replace(family, refcat=str(value))
            continue
        dpar = family.dpar(key[len("link_"):])
        if value not in dpar.links:
            raise FamilyError(f"Link {value!r} is not available for '{dpar.name}' of family '{family.name}'. "
                              f"Allowed links: {', '.join(dpar.links)}.")
        family = replace(family, dpars=tuple(replace(d, link=value) if d is dpar else d for d in family.dpars))
    return family


