"""brms's (rstan's) warnings about a fit's sampling, and brmc's plain statement when
the draws are not usable.

:func:`diagnose` counts divergent transitions, tree-depth hits and chains with a
low E-BFMI, and reads the largest Rhat and the smallest ESS off the fit's summary
rows (computed once per fit); :meth:`Diagnostics.messages` words them as brms.

Example:
    >>> Diagnostics(transitions=1000, divergent=3).messages()[0][:40]
    'There were 3 divergent transitions after'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd

from .algorithms import is_mcmc
from .summary import arviz_numpy

if TYPE_CHECKING:
    from .fit import Fit


#: above this Rhat, or with more than this share of divergent transitions, the draws are not usable
UNUSABLE_RHAT = 1.5
UNUSABLE_DIVERGENT = 0.5


@dataclass
class Diagnostics:
    """Sampler problems brms warns about; ``transitions`` counts the post-warm-up transitions."""

    transitions: int = 0
    divergent: int = 0
    treedepth: int = 0
    low_bfmi_chains: int = 0
    max_rhat: float = 1.0
    low_bulk_ess: bool = False
    low_tail_ess: bool = False
    adapt_delta: float = 0.8
    max_treedepth: int = 10

    @property
    def unusable(self) -> bool:
        """Whether most transitions diverged or the chains disagree (Rhat above 1.5)."""
        share = self.divergent / self.transitions if self.transitions else 0.0
        return share > UNUSABLE_DIVERGENT or self.max_rhat > UNUSABLE_RHAT

    def messages(self) -> list[str]:
        """The warnings brms (rstan) prints, in its words; first, when the draws are not usable,
        brmc's plain statement of it (brms leaves that to the reader of its warnings)."""
        out = []
        if self.unusable:
            problems = []
            if self.transitions and self.divergent / self.transitions > UNUSABLE_DIVERGENT:
                problems.append(f"{self.divergent} of {self.transitions} transitions diverged")
            if self.max_rhat > UNUSABLE_RHAT:
                problems.append(f"the chains disagree (largest Rhat {self.max_rhat:.4g}, above {UNUSABLE_RHAT})")
            out.append(
                f"The draws are not usable: {' and '.join(problems)}, so the estimates below describe where the "
                "sampler got stuck, not the posterior. Try starting the chains elsewhere (init=0 or init=0.5), "
                "more warm-up (iter=4000), control={'adapt_delta': 0.95}, stronger priors, or another "
                "backend (backend='nutpie')."
            )
        if self.divergent:
            out.append(
                f"There were {self.divergent} divergent transitions after warmup. Increasing adapt_delta "
                f"above {self.adapt_delta:g} may help. See "
                "http://mc-stan.org/misc/warnings.html#divergent-transitions-after-warmup"
            )
        if self.treedepth:
            out.append(
                f"There were {self.treedepth} transitions after warmup that exceeded the maximum treedepth. "
                f"Increase max_treedepth above {self.max_treedepth}. See "
                "http://mc-stan.org/misc/warnings.html#maximum-treedepth-exceeded"
            )
        if self.low_bfmi_chains:
            out.append(
                f"There were {self.low_bfmi_chains} chains where the estimated Bayesian Fraction of Missing "
                "Information was low. See http://mc-stan.org/misc/warnings.html#bfmi-low"
            )
        if self.max_rhat > 1.05:
            out.append(
                "Parts of the model have not converged (some Rhats are > 1.05). Be careful when analysing "
                "the results! We recommend running more iterations and/or setting stronger priors."
            )
        if self.low_bulk_ess:
            out.append(
                "Bulk Effective Samples Size (ESS) is too low, indicating posterior means and medians may be "
                "unreliable. Running the chains for more iterations may help. See "
                "https://mc-stan.org/misc/warnings.html#bulk-ess"
            )
        if self.low_tail_ess:
            out.append(
                "Tail Effective Samples Size (ESS) is too low, indicating posterior variances and tail "
                "quantiles may be unreliable. Running the chains for more iterations may help. See "
                "https://mc-stan.org/misc/warnings.html#tail-ess"
            )
        return out


def diagnose(fit: Fit) -> Diagnostics:
    """Count divergences, tree-depth hits and low E-BFMI; check Rhat and ESS of the summary
    (none of these for draws not from Markov chains, as brms)."""
    if not is_mcmc(fit.settings):
        return Diagnostics(adapt_delta=fit.settings.adapt_delta, max_treedepth=fit.settings.max_treedepth)
    stats = fit.idata.sample_stats
    div = int(np.asarray(stats["diverging"]).sum()) if "diverging" in stats else 0
    depth_name = next((n for n in ("maxdepth_reached", "reached_max_treedepth") if n in stats), None)
    depth = int(np.asarray(stats[depth_name]).sum()) if depth_name else 0
    low_bfmi = 0
    if "energy" in stats:
        with arviz_numpy():
            low_bfmi = int((np.asarray(az.bfmi(fit.idata)) < 0.3).sum())
    tables = fit.summary_tables()
    frames = [tables.autocor, tables.fixed, tables.spec_pars, tables.rescor, tables.smooth, tables.gp, tables.simplex,
              *tables.random.values()]
    allrows = pd.concat([f for f in frames if len(f)])
    n_chains = fit.idata.posterior.sizes["chain"]
    return Diagnostics(
        transitions=n_chains * fit.idata.posterior.sizes["draw"],
        divergent=div,
        treedepth=depth,
        low_bfmi_chains=low_bfmi,
        max_rhat=float(allrows["Rhat"].max()) if len(allrows) else 1.0,
        low_bulk_ess=bool(len(allrows) and allrows["Bulk_ESS"].min() < 100 * n_chains),
        low_tail_ess=bool(len(allrows) and allrows["Tail_ESS"].min() < 100 * n_chains),
        adapt_delta=fit.settings.adapt_delta,
        max_treedepth=fit.settings.max_treedepth,
    )
