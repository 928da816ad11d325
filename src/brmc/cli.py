"""The ``brmc`` command: fit a model, show default priors, list the data sets.

Example (shell)::

    brmc fit "Reaction ~ Days + (Days | Subject)" --data sleepstudy --seed 1234
    brmc priors "Reaction ~ Days + (Days | Subject)" --data sleepstudy
    brmc datasets
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

from . import datasets
from .api import brm, get_prior
from .errors import BrmsError, DataError
from .missingdata import MISSING
from .priors import parse_prior_spec
from .sampling import BACKENDS, DEFAULT_BACKEND


def load_data(spec: str) -> pd.DataFrame:
    """A shipped data set's name or a CSV path → a data frame named for the summary.

    Example:
        >>> load_data("sleepstudy").attrs["data_name"]
        'sleepstudy'
    """
    path = Path(spec)
    if path.suffix.lower() == ".csv" or path.exists():
        if not path.is_file():
            raise DataError(f"No such CSV file: {spec}")
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
            raise DataError(f"Could not read {spec} as CSV: {err}") from None
        return datasets.set_name(frame, path.stem)
    return datasets.load(spec)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brmc", description="brms-style Bayesian multilevel models on PyMC.")
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="fit a model and print brms's summary")
    priors = sub.add_parser("priors", help="print the default priors (brms's get_prior)")
    for p in (fit, priors):
        p.add_argument("formula", help='brms formula, e.g. "Reaction ~ Days + (Days | Subject)"')
        p.add_argument("--data", required=True, help="a shipped data set's name or a CSV file")
        p.add_argument("--family", default="gaussian")
        p.add_argument("--missing", default="impute", choices=MISSING,
                       help="impute (brms's: drop incomplete rows, impute mi() values), drop (complete cases) or raise")
    fit.add_argument("--chains", type=int, default=4)
    fit.add_argument("--iter", type=int, default=2000)
    fit.add_argument("--warmup", type=int, default=None)
    fit.add_argument("--seed", type=int, default=None)
    fit.add_argument("--cores", type=int, default=None)
    fit.add_argument("--backend", default=DEFAULT_BACKEND, choices=BACKENDS)
    fit.add_argument("--prior", action="append", default=[], metavar="'DIST | class [| coef [| group]]'",
                     help="e.g. 'normal(0, 10) | b'; repeat for several")
    fit.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sub.add_parser("datasets", help="list the shipped data sets")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``brmc`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "datasets":
            for name in datasets.names():
                print(f"{name:15s} {datasets.describe(name)}")
            return 0
        data = load_data(args.data)
        if args.command == "priors":
            print(get_prior(args.formula, data, family=args.family, missing=args.missing))
            return 0
        priors = [parse_prior_spec(p) for p in args.prior]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = brm(args.formula, data, family=args.family, prior=priors, chains=args.chains, iter=args.iter,
                      warmup=args.warmup, seed=args.seed, cores=args.cores, backend=args.backend,
                      progress=not args.no_progress, missing=args.missing)
        text = str(fit)
        for w in caught:  # sampler warnings already stand under the summary
            if str(w.message) not in text:
                print(f"Warning: {w.message}", file=sys.stderr)
        print(text)
        return 0
    except BrmsError as err:
        print(f"brmc: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
