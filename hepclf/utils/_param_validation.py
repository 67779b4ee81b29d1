"""Parameter constraints beyond scikit-learn's, for ``_parameter_constraints``.

hepclf validates parameters one way: declared constraints, checked by
``_fit_context`` (estimators) or ``validate_params`` (functions), which raise
scikit-learn's ``InvalidParameterError`` naming the parameter. scikit-learn
has no constraint for pairs, ranges or non-empty sequences of options, which
physics parameters need (``eta_range=(-1, 1)``, ``npix=(40, 32)``,
``intensity=("pt", "energy")``); the classes here add them.

They derive from scikit-learn's ``Options``, the one constraint class that
``sklearn.utils._param_validation.make_constraint`` passes through unchanged
while not constraining the value's type, and override its test.
"""

from __future__ import annotations

import math
from numbers import Real

from sklearn.utils._param_validation import Interval, Options, make_constraint


class _Custom(Options):
    """A constraint with its own test (``Options`` only as the accepted base)."""

    def __init__(self):
        super().__init__(object, set())

    def is_satisfied_by(self, val):  # pragma: no cover - abstract
        raise NotImplementedError


class Pair(_Custom):
    """A tuple or list of two values that each satisfy ``element``.

    Parameters
    ----------
    element : constraint
        What each value must satisfy (an ``Interval``, a type, ...).
    ordered : bool, default=False
        Also require ``low < high``.
    finite : bool, default=False
        Also require finite numbers (no inf, no NaN).
    description : str, optional
        How error messages describe the constraint (by default, from the above).
    """

    def __init__(self, element, *, ordered=False, finite=False, description=None):
        super().__init__()
        self.element = make_constraint(element)
        self.ordered = ordered
        self.finite = finite
        self.description = description

    def is_satisfied_by(self, val):
        if not isinstance(val, (tuple, list)) or len(val) != 2:
            return False
        if not all(self.element.is_satisfied_by(v) for v in val):
            return False
        if self.finite and not all(math.isfinite(v) for v in val):
            return False
        return not self.ordered or val[0] < val[1]

    def __str__(self):
        if self.description:
            return self.description
        finite = " finite" if self.finite else ""
        text = f"a pair (tuple or list) of two{finite} values, each {self.element}"
        return text + (", with low < high" if self.ordered else "")


def Range(low=None, *, closed="left"):
    """Constrain to a pair ``(low, high)`` of finite real numbers with ``low < high``.

    Parameters
    ----------
    low : float or None, default=None
        Smallest allowed ``low`` (None: unbounded).
    closed : {"left", "neither"}, default="left"
        Whether ``low`` itself is allowed.

    Returns
    -------
    Pair
        The constraint.
    """
    bound = "" if low is None else f" and low {'>=' if closed == 'left' else '>'} {low}"
    return Pair(
        Interval(Real, low, None, closed=closed),
        ordered=True,
        finite=True,
        description=f"a pair (low, high) of finite numbers with low < high{bound}",
    )


class NonEmptySequenceOf(_Custom):
    """A non-empty tuple or list whose items each satisfy ``element``.

    Parameters
    ----------
    element : constraint
        What each item must satisfy (e.g. ``StrOptions({"pt", "energy"})``).
    unique : bool, default=False
        Also require distinct items.
    """

    def __init__(self, element, *, unique=False):
        super().__init__()
        self.element = make_constraint(element)
        self.unique = unique

    def is_satisfied_by(self, val):
        return (
            isinstance(val, (tuple, list))
            and len(val) > 0
            and all(self.element.is_satisfied_by(v) for v in val)
            and (not self.unique or len(set(val)) == len(val))
        )

    def __str__(self):
        distinct = " distinct items, each" if self.unique else ""
        return f"a non-empty tuple or list of{distinct} {self.element}"
