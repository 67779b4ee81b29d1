"""scikit-learn tags shared by hepclf's transformers of jet constituents."""

from __future__ import annotations


class ConstituentInputMixin:
    """Tags of a stateless transformer of padded 3-D constituents.

    Declares 3-D input ``(n_samples, n_items, n_features)`` instead of sklearn's
    2-D, so sklearn's data-driven checks skip it (``tests/test_common.py`` runs
    them on jets), and that ``transform`` works unfitted. Put it before
    ``TransformerMixin`` and ``BaseEstimator``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
