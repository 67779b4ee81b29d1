"""Mixins shared by hepclf's estimators, whatever their data kind."""

from __future__ import annotations


class PaddedInputMixin:
    """Tags of a stateless transformer of padded 3-D input.

    Declares 3-D input ``(n_samples, n_items, n_features)`` (jet constituents,
    event objects, detector hits) instead of sklearn's 2-D, so sklearn's
    data-driven checks skip it (``tests/test_common.py`` runs them on data of
    the estimator's kind), and that ``transform`` works unfitted. Put it before
    ``TransformerMixin`` and ``BaseEstimator``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
