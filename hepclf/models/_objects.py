"""A transformer over the reconstructed objects of an event: no image in between.

Registers the input kind ``"objects"`` (the padded ``(type, pt, eta, phi)``
rows that :class:`hepclf.EventImager` takes, with its checks) and the module
``"object_transformer"``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..imaging._event import OBJECT_TYPES
from ..kinematics._torch import wrap_phi
from ..substructure._events import check_event_values
from ._inputs import InputKind, register_input_kind
from ._modules import register_module
from ._particle import _ClassAttentionTransformer

#: Per-object features the network computes from ``(type, pt, eta, phi)``.
OBJECT_FEATURES = ("log_pt", "eta", "sin_phi", "cos_phi", "log_pt_fraction")

#: Pairwise features that bias the attention: ln Delta R, ln m^2 and
#: ln z = ln(min(pt) / (pt_a + pt_b)); pairs with MET use Delta phi and mT^2.
OBJECT_PAIR_FEATURES = ("log_delta_r", "log_mass2", "log_z")

# shifts and scales that bring the features to order one for pT in GeV
_SHIFT = (4.0, 0.0, 0.0, 0.0, -1.5)
_SCALE = (1.0, 0.5, 1.0, 1.0, 1.0)
_TINY = 1e-8
#: |Delta eta| beyond this is clamped in the pair mass (keeps cosh finite)
_MAX_DETA = 20.0
_MET = OBJECT_TYPES["met"]
_N_CODES = max(OBJECT_TYPES.values()) + 1


def _unpack(x):
    """Type codes (long), mask of real objects, pt, eta (0 for MET), phi."""
    types = x[..., 0].round().long().clamp(0, _N_CODES - 1)
    mask = types != 0
    is_met = types == _MET
    pt = torch.where(mask, x[..., 1], torch.zeros_like(x[..., 1]))
    eta = torch.where(mask & ~is_met, x[..., 2], torch.zeros_like(x[..., 2]))
    return types, mask, is_met, pt, eta, x[..., 3]


def object_features(x):
    """Per-object features of padded event objects ``(type, pt, eta, phi[, extra])``.

    Parameters
    ----------
    x : Tensor of shape (n_events, n_objects, 4 or 5)
        Objects as :class:`hepclf.EventImager` takes them; type 0 is padding.

    Returns
    -------
    Tensor of shape (n_events, n_objects, 5)
        :data:`OBJECT_FEATURES`: ln pT, eta (0 for MET, which has none), sin
        and cos phi, and ln of the object's fraction of the event's scalar pT
        sum, shifted and scaled to order one; zero for padding.
    """
    _, mask, _, pt, eta, phi = _unpack(x)
    safe_pt = torch.where(mask, pt.clamp_min(_TINY), torch.ones_like(pt))
    total = pt.sum(1, keepdim=True).clamp_min(_TINY)
    log_pt = torch.log(safe_pt)
    feats = torch.stack(
        [log_pt, eta, torch.sin(phi), torch.cos(phi), log_pt - torch.log(total)],
        dim=-1,
    )
    feats = (feats - feats.new_tensor(_SHIFT)) * feats.new_tensor(_SCALE)
    return torch.where(mask[..., None], feats, torch.zeros_like(feats))


def object_pair_features(x):
    """Pairwise features of padded event objects, for the attention bias.

    For objects a, b: ``Delta R = sqrt(Delta eta^2 + Delta phi^2)`` (phi
    wrapped), the mass of the massless pair
    ``m^2 = 2 pt_a pt_b (cosh Delta eta - cos Delta phi)`` and
    ``z = min(pt_a, pt_b) / (pt_a + pt_b)``. MET has no eta: in its pairs
    ``Delta eta = 0``, so that ``Delta R = |Delta phi|`` and ``m^2`` is the
    squared transverse mass.

    Parameters
    ----------
    x : Tensor of shape (n_events, n_objects, 4 or 5)
        Objects as :class:`hepclf.EventImager` takes them; type 0 is padding.

    Returns
    -------
    Tensor of shape (n_events, 3, n_objects, n_objects)
        The logarithms of :data:`OBJECT_PAIR_FEATURES`; zero where either
        object is padding.
    """
    _, mask, is_met, pt, eta, phi = _unpack(x)
    with_met = is_met[:, :, None] | is_met[:, None, :]
    deta = eta[:, :, None] - eta[:, None, :]
    deta = torch.where(with_met, torch.zeros_like(deta), deta)
    dphi = wrap_phi(phi[:, :, None] - phi[:, None, :])
    delta_r = torch.hypot(deta, dphi)
    pt_a, pt_b = pt[:, :, None], pt[:, None, :]
    m2 = (
        2.0
        * pt_a
        * pt_b
        * (torch.cosh(deta.clamp(-_MAX_DETA, _MAX_DETA)) - torch.cos(dphi))
    )
    z = torch.minimum(pt_a, pt_b) / (pt_a + pt_b).clamp_min(_TINY)
    out = torch.log(torch.stack([delta_r, m2, z], dim=1).clamp_min(_TINY))
    both = (mask[:, :, None] & mask[:, None, :])[:, None]
    return torch.where(both, out, torch.zeros_like(out))


@register_module("object_transformer")
class ObjectTransformer(_ClassAttentionTransformer):
    """A transformer over the reconstructed objects of collision events.

    The set-based alternative to event images: every object (electron, muon,
    tau, photon, jet, b-jet, MET) is embedded from a learnt vector for its
    type plus five kinematic features (:data:`OBJECT_FEATURES`: ln pT, eta,
    sin and cos phi, ln of its share of the event's pT), ``n_layers``
    self-attention blocks let the objects see each other, with attention
    logits biased per head by a learnt function of ln Delta R, ln m^2 and
    ln z of every pair (:data:`OBJECT_PAIR_FEATURES`), and ``n_class_layers``
    class-attention blocks pool them into one learnt class token that is
    classified. Padding is masked out everywhere, so the output depends
    neither on it nor on the order of the objects; an event without objects
    is classified from the class token alone.

    Input: ``(n_events, n_objects, 4 or 5)`` rows ``(type, pt, eta, phi[,
    extra])`` as :class:`hepclf.EventImager` takes them (type codes of
    :data:`hepclf.imaging.OBJECT_TYPES`, 0 for padding, pt in GeV; a fifth
    column is ignored). ``CNNClassifier(module="object_transformer")`` trains
    it on such arrays directly and checks them as ``EventImager`` does.

    .. versionadded:: 0.2

    Parameters
    ----------
    n_classes : int, default=2
        Number of output logits (set by ``CNNClassifier`` from the labels).
    dim : int, default=64
        Width of the object embeddings.
    n_heads : int, default=8
        Attention heads; must divide ``dim``.
    n_layers : int, default=3
        Self-attention blocks over the objects.
    n_class_layers : int, default=1
        Class-attention blocks.
    pair_features : bool, default=True
        Bias the self-attention with the pairwise features; False gives a plain
        transformer.
    pair_dim : int, default=16
        Width of the small network that maps the pairwise features to a bias
        per head.
    dropout : float, default=0.0
        Dropout in attention and feed-forward layers.

    See Also
    --------
    hepclf.models.ParticleTransformer : the same architecture over jet constituents.
    hepclf.substructure.EventFeatures : high-level features for a boosted-tree baseline.
    hepclf.EventImager : the same events as images.
    """

    input_kind = "objects"

    def __init__(
        self,
        n_classes: int = 2,
        dim: int = 64,
        n_heads: int = 8,
        n_layers: int = 3,
        n_class_layers: int = 1,
        pair_features: bool = True,
        pair_dim: int = 16,
        dropout: float = 0.0,
    ):
        super().__init__()
        if dim % n_heads:
            raise ValueError(
                f"ObjectTransformer: n_heads={n_heads} must divide dim={dim}"
            )
        n_feat = len(OBJECT_FEATURES)
        self.type_embed = nn.Embedding(_N_CODES, dim)
        self.embed = nn.Sequential(
            nn.Linear(n_feat, dim), nn.GELU(), nn.Linear(dim, dim)
        )
        self.pair_embed = (
            nn.Sequential(
                nn.Conv2d(len(OBJECT_PAIR_FEATURES), pair_dim, 1),
                nn.GELU(),
                nn.Conv2d(pair_dim, n_heads, 1),
            )
            if pair_features
            else None
        )
        self._build_trunk(dim, n_heads, n_layers, n_class_layers, dropout, n_classes)

    def forward(self, x):
        """Return the class logits of a batch of padded event objects ``(n, P, F)``."""
        with torch.autocast(x.device.type, enabled=False):
            x = x.float()
            types, mask, *_ = _unpack(x)
            feats = object_features(x)
            pairs = object_pair_features(x) if self.pair_embed is not None else None
        n, p = mask.shape
        # every object sees the real objects and itself: a padding row (and an
        # empty event) never has all its attention logits at -inf (torch's
        # fused kernels return zeros for such a row, a plain softmax NaN)
        seen = mask[:, None, :] | torch.eye(p, dtype=torch.bool, device=x.device)
        blocked = torch.zeros(n, 1, p, p, device=x.device).masked_fill(
            ~seen[:, None], float("-inf")
        )
        bias = blocked if pairs is None else self.pair_embed(pairs) + blocked
        h = (self.embed(feats) + self.type_embed(types)) * mask[..., None]
        return self._classify(h, bias, mask)


def _objects_signature(X):
    return X.shape[-1], tuple(X.shape[1:-1])


def _check_objects(X, name):
    if X.shape[-1] not in (4, 5):
        raise ValueError(
            f"{name}: expected 4 or 5 features per object (type, pt, eta, phi[, "
            f"extra]), got {X.shape[-1]} (input shape {X.shape})"
        )
    check_event_values(X, name)


OBJECTS = register_input_kind(
    InputKind(
        name="objects",
        expected="event objects of shape (n_samples, n_objects, 4 or 5) "
        "(type, pt, eta, phi[, extra])",
        advice="pass the padded objects that EventImager takes",
        ndim=(3,),
        check_values=_check_objects,
        signature=_objects_signature,
        fixed_shape=False,
        mismatch="{name}: X has {got[0]} features per object but the "
        "classifier was fitted on {fitted[0]}",
        not_exportable="ONNX export covers image models only (object-level "
        "networks take lists of objects that no exported imager makes)",
    )
)
