"""R's rule for coding a factor in a model term, in place of formulae's.

R's ``model.matrix`` (``TermCode`` in R's ``src/library/stats/src/model.c``,
the heuristic of *Statistical Models in S*, p. 38) codes a factor in a term by
contrasts when the term with that factor removed is empty or is contained in a
term that comes before it (terms ordered by degree, then as written), and by
indicators of every level otherwise; without an intercept, the first factor of
the first term holding one is coded by indicators.  So ``y ~ a:b`` (with the
intercept) has the columns ``(Intercept)``, ``a1:b1``, ``a2:b1``, ``a1:b2``,
``a2:b2``, ``y ~ a + a:b`` has ``a2``, ``a1:b2``, ``a2:b2`` and ``y ~ x + x:f``
has ``x:f2``.  formulae follows patsy instead, which adds a term for full rank
(``b2`` for ``a:b``); :func:`design_matrices` evaluates a formula with formulae
but R's codes and no added terms.

Example:
    >>> term_codes([("a", "b")], {"a", "b"}, ["a", "b"], intercept=True)
    [{'a': True, 'b': True}]
    >>> term_codes([("a",), ("a", "b")], {"a", "b"}, ["a", "b"], intercept=False)
    [{'a': True}, {'a': True, 'b': False}]
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from formulae.environment import Environment
from formulae.matrices import DesignMatrices
from formulae.model_description import model_description
from formulae.terms import Intercept, Model, Term


def term_codes(terms: Sequence[tuple[str, ...]], factors: set[str], order: Sequence[str],
               intercept: bool) -> list[dict[str, bool]]:
    """R's coding of each factor of each term: ``True`` for indicators of every level, ``False``
    for contrasts.

    Parameters
    ----------
    terms : sequence of tuple of str
        Each term's variables, the terms in R's order (by degree, then as written).
    factors : set of str
        The variables that are factors.
    order : sequence of str
        The variables in R's order (first appearance in the formula).
    intercept : bool
        Whether the model has the intercept.

    Returns
    -------
    list of dict
        Per term, factor → whether it is coded by indicators.

    Examples
    --------
    >>> term_codes([("x",), ("x", "f")], {"f"}, ["x", "f"], intercept=True)
    [{}, {'f': False}]
    >>> term_codes([("c",), ("a", "b")], {"a", "b", "c"}, ["a", "b", "c"], intercept=True)
    [{'c': False}, {'a': True, 'b': True}]
    """
    codes = []
    for i, term in enumerate(terms):
        before = [set(t) for t in terms[:i]]
        code = {}
        for v in term:
            if v in factors:
                rest = set(term) - {v}
                code[v] = bool(rest) and not any(rest <= t for t in before)
        codes.append(code)
    if not intercept:
        rank = {v: k for k, v in enumerate(order)}
        first = next((code for code in codes if code), None)
        if first is not None:
            first[min(first, key=lambda v: rank.get(v, len(rank)))] = True
    return codes


class _RCodedModel(Model):
    """formulae's model with R's factor codes (:func:`term_codes`) and no terms added for full rank."""

    order: Sequence[str] = ()

    def _get_encoding_bools(self) -> dict[str, list[dict[str, bool]]]:
        terms = [t for t in self.common_terms if isinstance(t, Term)]
        ranked = sorted(range(len(terms)), key=lambda i: (len(terms[i].components), i))
        names = [tuple(c.name for c in terms[i].components) for i in ranked]
        factors = {c.name for t in terms for c in t.components if c.kind == "categoric"}
        position = {v: k for k, v in enumerate(map(_bare, self.order))}
        variables = sorted({n for t in names for n in t}, key=lambda n: position.get(_bare(n), len(position)))
        intercept = any(isinstance(t, Intercept) for t in self.common_terms)
        codes = term_codes(names, factors, variables, intercept)
        return {terms[i].name: [code] for i, code in zip(ranked, codes) if code}

    def add_extra_terms(self, encodings, data, env) -> None:  # R adds no terms
        return None


def _bare(name: str) -> str:
    return "".join(name.split())


def design_matrices(text: str, frame: pd.DataFrame, env: Environment, order: Sequence[str]) -> DesignMatrices:
    """formulae's design matrices of the formula ``text`` on ``frame``, factors coded as R codes them.

    Parameters
    ----------
    text : str
        The formula's right-hand side as formulae reads it.
    frame : pandas.DataFrame
        The data.
    env : formulae.environment.Environment
        The functions and values the formula may use.
    order : sequence of str
        The formula's variables in R's order (first appearance), as formulae names them.

    Returns
    -------
    formulae.matrices.DesignMatrices
        The evaluated design (its ``common`` part: population-level columns).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": pd.Categorical(list("1212")), "b": pd.Categorical(list("1122"))})
    >>> dm = design_matrices("a:b", frame, Environment([{}]), ["a", "b"])
    >>> list(dm.common.terms), dm.common.design_matrix.shape
    (['Intercept', 'a:b'], (4, 5))
    """
    description = model_description(text)
    model = _RCodedModel(*description.terms, response=description.response)
    model.order = list(order)
    used = [c for c in frame.columns if c in description.var_names]
    incomplete = int(frame[used].isna().any(axis=1).sum())
    if incomplete:
        raise ValueError(f"'data' contains {incomplete} incomplete rows.")
    return DesignMatrices(model, frame[used], env)
