"""Response families as records: links, distributional parameters, likelihood.

Adding a family is adding a :class:`Family` record to :data:`FAMILIES`; the
data, prior and model stages read nothing else about it.  The records live in
:mod:`~brmc.families.standard` (PyMC's distributions as they stand),
:mod:`~brmc.families.ordinal` (cumulative, sratio, cratio, acat),
:mod:`~brmc.families.continuous` (response times, inverse Gaussian, quantile,
Frechet, generalised extreme value, von Mises), :mod:`~brmc.families.survival` (cox, discrete Weibull),
:mod:`~brmc.families.inflated` (beta-binomial, zero-(one-)inflated and hurdle families),
:mod:`~brmc.families.multicol` (multinomial, dirichlet, logistic_normal: a ``cbind()`` matrix response) and
:mod:`~brmc.families.wiener` (the Wiener diffusion's first-passage times);
:mod:`~brmc.families.core` holds what they share.

Example:
    >>> fam = get_family("gaussian")
    >>> fam.name, fam.link, [d.name for d in fam.dpars]
    ('gaussian', 'identity', ['sigma'])
    >>> get_family("negbinomial", link_shape="identity").dpar("shape").link
    'identity'
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import FamilyError, close_matches
from .continuous import (
    asym_laplace,
    exgaussian,
    frechet,
    gen_extreme_value,
    inverse_gaussian,
    shifted_lognormal,
    von_mises,
)
from .core import (
    DATA_PRIOR_LINKS,
    LINKS,
    DistPar,
    Family,
    _with_link,
    _with_options,
    inverse_link,
)
from .inflated import (
    beta_binomial,
    hurdle_gamma,
    hurdle_negbinomial,
    zero_inflated_asym_laplace,
    zero_inflated_beta,
    zero_inflated_beta_binomial,
    zero_inflated_binomial,
    zero_one_inflated_beta,
)
from .mixture import mixture_of, parse_mixture
from .multicol import dirichlet, logistic_normal, multinomial
from .ordinal import acat, category_probabilities, cratio, cumulative, sratio
from .standard import (
    Gamma,
    bernoulli,
    beta,
    binomial,
    categorical,
    exponential,
    gaussian,
    geometric,
    hurdle_lognormal,
    hurdle_poisson,
    lognormal,
    negbinomial,
    poisson,
    skew_normal,
    student,
    weibull,
    zero_inflated_negbinomial,
    zero_inflated_poisson,
)
from .survival import cox, discrete_weibull
from .wiener import wiener

__all__ = ["DATA_PRIOR_LINKS", "FAMILIES", "LINKS", "NOT_YET", "DistPar", "Family", "category_probabilities",
           "family_from_dict", "get_family", "inverse_link", "mixture"]

#: brms family names → constructors.
FAMILIES: dict[str, Callable[..., Family]] = {
    f.__name__: f for f in (
        gaussian, student, skew_normal, lognormal, shifted_lognormal, exgaussian, Gamma, weibull, exponential,
        inverse_gaussian, frechet, gen_extreme_value, asym_laplace, zero_inflated_asym_laplace, von_mises,
        bernoulli, binomial, beta_binomial, zero_inflated_binomial, zero_inflated_beta_binomial, poisson, negbinomial, geometric, beta, zero_inflated_beta, zero_one_inflated_beta,
        zero_inflated_poisson, zero_inflated_negbinomial, hurdle_poisson, hurdle_negbinomial, hurdle_gamma,
        hurdle_lognormal, cumulative, sratio, cratio, acat, categorical, multinomial, dirichlet, logistic_normal,
        wiener, cox, discrete_weibull)
}
FAMILIES["Gamma"] = Gamma
#: brms families not implemented yet: refused by name rather than confused with others.
NOT_YET = frozenset({"dirichlet_multinomial", "com_poisson",
                     "negbinomial2", "dirichlet2", "custom"})


def get_family(family: str | Family, link: str | None = None, **options: str) -> Family:
    """Resolve a family given as a brms name or a :class:`Family` record (brms's ``brmsfamily``).

    Parameters
    ----------
    family : str or Family
        A brms family name (``"gaussian"``, ``"poisson"``, ``"cumulative"``, ...) or a Family.
    link : str, optional
        The link of ``mu``; the family's default (brms's) when None.
    **options : str
        brms's family arguments: ``link_<dpar>`` sets the link of a predicted
        distributional parameter (``link_sigma="identity"``), ``refcat`` the reference
        category of ``categorical``.

    Returns
    -------
    Family

    Examples
    --------
    >>> get_family("bernoulli", link="probit").link
    'probit'
    >>> get_family("gaussian", link_sigma="identity").dpar("sigma").link
    'identity'
    """
    if isinstance(family, Family):
        family = family if link is None else _with_link(family, link)
        return _with_options(family, options)
    if not isinstance(family, str):
        raise FamilyError(f"A family must be a name such as 'gaussian', not {type(family).__name__}.")
    name = family.strip()
    mixed = parse_mixture(name)
    if mixed is not None:
        names, order = mixed
        order = options.pop("order", order)
        if options or link not in (None, "identity"):
            raise FamilyError("A mixture takes its component families and 'order' only; give links to the "
                              "components, e.g. mixture(get_family('gaussian', link='log'), 'gaussian').")
        return mixture(*names, order=order)
    if name in NOT_YET:
        raise FamilyError(f"Family '{name}' is a brms family that brmc does not support yet. "
                          f"Available families: {', '.join(FAMILIES)}.")
    if name not in FAMILIES:
        raise FamilyError(
            f"Unknown family '{name}'.{close_matches(name, FAMILIES)} "
            f"Available families: {', '.join(FAMILIES)}."
        )
    return FAMILIES[name](**options) if link is None else FAMILIES[name](link=link, **options)


def mixture(*families: str | Family, order: str | bool | None = None) -> Family:
    """A finite mixture of response families, as brms's ``mixture()``.

    Parameters
    ----------
    *families : str or Family
        Two or more component families (names or records), all continuous or all counts.
    order : {"none", "mu"} or bool, optional
        Whether the components' intercepts are ordered (``"mu"`` or True), which keeps
        the components from swapping; brms's default: ordered for mixtures of one family.

    Returns
    -------
    Family
        Distributional parameters ``mu1``, ``mu2``, ... (predictors), the components' own
        numbered (``sigma1``, ``sigma2``) and the mixing proportions ``theta1``, ``theta2``, ...

    Examples
    --------
    >>> mix = mixture("gaussian", "gaussian")
    >>> mix.name, mix.order
    ('mixture(gaussian, gaussian)', 'mu')
    >>> get_family("mixture(gaussian, student)").order
    'none'
    """
    return mixture_of(tuple(get_family(f) for f in families), order=order)


def family_from_dict(spec: dict) -> Family:
    """The family a :meth:`Family.to_dict` description names.

    Example:
        >>> family_from_dict(get_family("gaussian", link_sigma="identity").to_dict()).options()
        {'link_sigma': 'identity'}
    """
    options = {k: v for k, v in spec.items() if k not in {"name", "link"}}
    return get_family(spec["name"], spec["link"], **options)
