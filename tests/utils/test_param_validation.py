from __future__ import annotations

from numbers import Integral

import numpy as np
import pytest
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)

from hepclf.utils._param_validation import NonEmptySequenceOf, Pair, Range

POSITIVE_INT = Interval(Integral, 1, None, closed="left")


@pytest.mark.parametrize(
    ("constraint", "good", "bad"),
    [
        (Pair(POSITIVE_INT), [(3, 4), [1, np.int64(2)]], [(3,), (3, 0), 3, (1, 2, 3)]),
        (
            Range(),
            [(-1, 1), [0.5, 2.0], (-np.pi, np.pi)],
            [(1, -1), (0, 0), (0, np.inf), (np.nan, 1), "ab", (0,)],
        ),
        (Range(0, closed="neither"), [(1e-3, 5)], [(0, 5), (-1, 5)]),
        (Range(0), [(0, 5)], [(-1, 5)]),
        (
            NonEmptySequenceOf(StrOptions({"pt", "energy"})),
            [("pt",), ["energy", "pt"]],
            [(), "pt", ("pt", "mass"), [1]],
        ),
    ],
)
def test_constraints_accept_and_reject(constraint, good, bad):
    for value in good:
        assert constraint.is_satisfied_by(value), value
    for value in bad:
        assert not constraint.is_satisfied_by(value), value


def test_sklearn_raises_with_our_description():
    constraints = {"eta_range": [Range()], "npix": [POSITIVE_INT, Pair(POSITIVE_INT)]}
    with pytest.raises(
        InvalidParameterError,
        match=r"'eta_range' parameter of f must be a pair \(low, high\) of finite "
        r"numbers with low < high\. Got \(1, 0\)",
    ):
        validate_parameter_constraints(constraints, {"eta_range": (1, 0)}, "f")
    with pytest.raises(InvalidParameterError, match=r"or a pair \(tuple or list\)"):
        validate_parameter_constraints(constraints, {"npix": (2, 0)}, "f")
    validate_parameter_constraints(
        constraints, {"npix": (2, 3), "eta_range": (0, 1)}, "f"
    )
