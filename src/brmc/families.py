"""Response families as records: links, distributional parameters, likelihood.

Adding a family is adding a :class:`Family` record to :data:`FAMILIES`; the
data, prior and model stages read nothing else about it.

Example:
    >>> fam = get_family("gaussian")
    >>> fam.name, fam.link, [d.name for d in fam.dpars]
    ('gaussian', 'identity', ['sigma'])
    >>> fam.links_text()
    'mu = identity; sigma = identity'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pytensor.tensor as pt

from .errors import FamilyError, close_matches

#: link name → (inverse link on tensors, link on numpy arrays, inverse on numpy arrays)
LINKS: dict[str, tuple[Callable, Callable, Callable]] = {
    "identity": (lambda x: x, lambda y: y, lambda x: x),
    "log": (pt.exp, np.log, np.exp),
    "logit": (pt.sigmoid, lambda p: np.log(p / (1 - p)), lambda x: 1 / (1 + np.exp(-x))),
    "inverse": (lambda x: 1 / x, lambda y: 1 / y, lambda x: 1 / x),
    "sqrt": (pt.sqr, np.sqrt, np.square),
}
#: links on which brms computes data-based default priors (``def_scale_prior``).
DATA_PRIOR_LINKS = ("identity", "log", "inverse", "sqrt", "1/mu^2")


@dataclass(frozen=True)
class DistPar:
    """A distributional parameter other than ``mu`` (``sigma``, ``nu``, ``shape``...).

    ``default_prior`` is a distribution string, or ``None`` for brms's
    data-based ``student_t(3, 0, scale)``.
    """

    name: str
    link: str = "identity"
    lb: float | None = None
    ub: float | None = None
    default_prior: str | None = None


@dataclass(frozen=True)
class Family:
    """One response family: its links, dpars and PyMC likelihood builder.

    ``likelihood(name, mu, dpars, observed)`` adds the observed variable to the
    current PyMC model; ``log_lik(y, mu, dpars)`` is its pointwise NumPy twin,
    used after sampling; ``rng(mu, dpars, generator)`` draws new responses
    (``posterior_predict``); ``check_response(y)`` returns the response as floats or
    raises :class:`~brmc.errors.FamilyError`.
    """

    name: str
    link: str
    links: tuple[str, ...]
    dpars: tuple[DistPar, ...]
    likelihood: Callable = field(compare=False, repr=False)
    log_lik: Callable = field(compare=False, repr=False)
    rng: Callable = field(compare=False, repr=False)
    check_response: Callable[[np.ndarray], np.ndarray] = field(compare=False, repr=False)

    def links_text(self) -> str:
        """brms's ``Links:`` line."""
        parts = [f"mu = {self.link}"] + [f"{d.name} = {d.link}" for d in self.dpars]
        return "; ".join(parts)

    def inverse_link(self, eta):
        """Apply the inverse link to a tensor."""
        return LINKS[self.link][0](eta)

    def inverse_link_np(self, eta: np.ndarray) -> np.ndarray:
        """Apply the inverse link to a NumPy array."""
        return LINKS[self.link][2](eta)

    def link_np(self, y: np.ndarray) -> np.ndarray:
        """Apply the link to a NumPy array (used for data-based default priors)."""
        return LINKS[self.link][1](y)

    def to_dict(self) -> dict:
        """A JSON-able description (enough to rebuild with :func:`get_family`)."""
        return {"family": self.name, "link": self.link}


def _numeric_response(family: str) -> Callable[[np.ndarray], np.ndarray]:
    def check(y: np.ndarray) -> np.ndarray:
        if np.asarray(y).dtype == object:
            example = next((v for v in y if not _is_number(v)), y[0])
            raise FamilyError(
                f"Family '{family}' needs a numeric response, but it is a factor or text column with "
                f"values such as {example!r}."
            )
        out = np.asarray(y, dtype=float)
        if not np.all(np.isfinite(out)):
            raise FamilyError(f"Family '{family}' needs a finite response; found inf values.")
        return out

    return check


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _gaussian_likelihood(name: str, mu, dpars: dict, observed):
    import pymc as pm

    return pm.Normal(name, mu=mu, sigma=dpars["sigma"], observed=observed)


def _gaussian_log_lik(y: np.ndarray, mu: np.ndarray, dpars: dict) -> np.ndarray:
    from scipy.stats import norm

    return norm.logpdf(y, loc=mu, scale=dpars["sigma"])


def _gaussian_rng(mu: np.ndarray, dpars: dict, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(mu, dpars["sigma"])


def gaussian(link: str = "identity") -> Family:
    """The Gaussian family (``sigma`` with a half-t default prior).

    Example:
        >>> gaussian().name
        'gaussian'
    """
    return _with_link(
        Family(
            name="gaussian",
            link="identity",
            links=("identity", "log", "inverse"),
            dpars=(DistPar("sigma", lb=0.0),),
            likelihood=_gaussian_likelihood,
            log_lik=_gaussian_log_lik,
            rng=_gaussian_rng,
            check_response=_numeric_response("gaussian"),
        ),
        link,
    )


def _with_link(family: Family, link: str) -> Family:
    if link not in family.links:
        raise FamilyError(
            f"Link '{link}' is not available for family '{family.name}'. "
            f"Allowed links: {', '.join(family.links)}."
        )
    return replace(family, link=link)


#: brms family names → constructors.
FAMILIES: dict[str, Callable[..., Family]] = {"gaussian": gaussian}


def get_family(family: str | Family, link: str | None = None) -> Family:
    """Resolve a family given as a brms name or a :class:`Family` record.

    Example:
        >>> get_family("gaussian").link
        'identity'
    """
    if isinstance(family, Family):
        return family if link is None else _with_link(family, link)
    if not isinstance(family, str):
        raise FamilyError(f"A family must be a name such as 'gaussian', not {type(family).__name__}.")
    name = family.strip()
    if name not in FAMILIES:
        raise FamilyError(
            f"Unknown family '{name}'.{close_matches(name, FAMILIES)} "
            f"Available families: {', '.join(FAMILIES)}."
        )
    return FAMILIES[name]() if link is None else FAMILIES[name](link=link)
