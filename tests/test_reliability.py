"""Sampling problems are reported as brms reports them; the same seed gives the same draws."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import brmc
from brmc.summary import Diagnostics

from .conftest import SLEEP


@pytest.mark.parametrize("backend, depth_stat", [("numpyro", "reached_max_treedepth"),
                                                 ("nutpie", "maxdepth_reached")])
def test_treedepth_and_low_ess_warnings_as_brms(backend: str, depth_stat: str) -> None:
    """max_treedepth=2 forces tree-depth hits; brms's words appear as warnings and under the summary."""
    with pytest.warns(UserWarning) as record:
        fit = brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), chains=2, iter=300, seed=4, progress=False,
                       control={"max_treedepth": 2}, backend=backend)
    messages = [str(w.message) for w in record]
    assert any("exceeded the maximum treedepth. Increase max_treedepth above 2" in m for m in messages)
    assert any("Bulk Effective Samples Size (ESS) is too low" in m for m in messages)
    text = str(fit)
    assert "Warning: There were" in text and "maximum treedepth" in text
    assert int(fit.idata.sample_stats[depth_stat].sum()) > 0


def test_diagnostic_messages_follow_brms() -> None:
    messages = Diagnostics(transitions=1000, divergent=70, max_rhat=1.07, adapt_delta=0.95).messages()
    assert messages[0].startswith("There were 70 divergent transitions after warmup. Increasing adapt_delta above "
                                  "0.95 may help.")
    assert "some Rhats are > 1.05" in messages[1]
    assert Diagnostics().messages() == []


@pytest.mark.parametrize("divergent, rhat, what", [(600, 1.0, "600 of 1000 transitions diverged"),
                                                   (0, 1.8, "largest Rhat 1.8, above 1.1")])
def test_unusable_draws_are_said_plainly_first(divergent: int, rhat: float, what: str) -> None:
    """Most transitions divergent, or Rhat above 1.1: the first warning says the draws are not usable."""
    messages = Diagnostics(transitions=1000, divergent=divergent, max_rhat=rhat).messages()
    assert messages[0].startswith("The draws are not usable: ") and what in messages[0]
    assert "init=0" in messages[0] and "backend='nutpie'" in messages[0]
    assert not Diagnostics(transitions=1000, divergent=400, max_rhat=1.09).unusable


def test_adapt_delta_reaches_the_sampler(fit: brmc.Fit) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        careful = brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), chains=2, iter=400, seed=11, progress=False,
                           control={"adapt_delta": 0.99})
    # a higher target acceptance makes the adapted step size smaller
    assert careful.idata.sample_stats["step_size"].mean() < fit.idata.sample_stats["step_size"].mean()


_CHILD = """
import hashlib, warnings
warnings.simplefilter("ignore")
import brmc
fit = brmc.brm({formula!r}, brmc.datasets.load("sleepstudy"), chains=2, iter=400, seed=11, progress=False)
print(hashlib.sha256(fit.draws().to_numpy().tobytes()).hexdigest())
"""


def test_same_seed_same_draws_across_processes(fit: brmc.Fit) -> None:
    import hashlib

    out = subprocess.run([sys.executable, "-c", _CHILD.format(formula=SLEEP)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == hashlib.sha256(fit.draws().to_numpy().tobytes()).hexdigest()


@pytest.mark.parametrize("backend, step", [("nutpie", "_sample_nutpie"), ("numpyro", "_jax_compiled")])
def test_interrupted_sampling_is_a_clean_error(monkeypatch, backend: str, step: str) -> None:
    import brmc.sampling as sampling

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sampling, step, interrupted)
    with pytest.raises(brmc.SamplingError, match="interrupted"):
        brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), chains=1, iter=100, seed=1, progress=False,
                 backend=backend)
