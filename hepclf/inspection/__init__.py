"""Why did the classifier get this wrong? Saliency maps and the worst mistakes.

- :func:`saliency`: attributions of a fitted :class:`~hepclf.CNNClassifier`'s
  class score to each input pixel (gradients, integrated gradients or
  occlusion, computed with Captum: ``pip install "hepclf[explain]"``);
- :func:`most_confused`: the most confidently misclassified samples of each
  pair of classes;
- :func:`plot_misclassified_gallery` and :func:`plot_saliency`: pictures of
  both (matplotlib: ``pip install "hepclf[plot]"``). The confusion matrix is
  :func:`hepclf.plotting.plot_confusion_matrix`.
"""

from __future__ import annotations

from ._errors import most_confused
from ._plots import plot_misclassified_gallery, plot_saliency
from ._saliency import saliency

__all__ = [
    "most_confused",
    "plot_misclassified_gallery",
    "plot_saliency",
    "saliency",
]
