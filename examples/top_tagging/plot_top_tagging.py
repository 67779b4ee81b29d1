"""
Top-quark tagging with jet images
=================================

Train the seed-003 CNN on jet images of the bundled sample (detector-level
top-quark and QCD jets, 550-650 GeV), look at the mean images and quote the
tagger as physicists do: ROC AUC and background rejection at 30 % signal
efficiency.
"""

# %%
# Load the jets: zero-padded constituents (E, px, py, pz) in GeV, label 1 = top.
from __future__ import annotations

import matplotlib.pyplot as plt
from sklearn.pipeline import make_pipeline

from hepclf import CNNClassifier, JetImager
from hepclf.datasets import load_top_tagging
from hepclf.metrics import background_rejection, roc_auc
from hepclf.plotting import plot_mean_images, plot_roc, plot_training_history

X_train, y_train = load_top_tagging(split="train")
X_test, y_test = load_top_tagging(split="test")
print(X_train.shape, y_train.mean())

# %%
# Mean jet images: centred on the pT centroid, rotated so the principal axis is
# vertical, flipped so the hardest quadrant is upper right. Top jets show the
# three-prong structure of t -> bW -> bqq'.
imager = JetImager(npix=40)
images = imager.fit_transform(X_train)
plot_mean_images(images, y_train, extent=(-1, 1, -1, 1))
plt.show()

# %%
# The pipeline: imaging and the CNN in one estimator.
pipe = make_pipeline(JetImager(npix=40), CNNClassifier(max_epochs=5, random_state=0))
pipe.fit(X_train, y_train)
proba = pipe.predict_proba(X_test)[:, 1]
print(
    f"AUC {roc_auc(y_test, proba):.4f}, "
    f"1/eps_B at eps_S=0.3: {background_rejection(y_test, proba):.1f}"
)

# %%
# Rejection against efficiency, and the training loss per epoch.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
plot_roc(y_test, {"JetImager + CNN": proba}, ax=left)
plot_training_history(pipe, ax=right)
plt.show()
