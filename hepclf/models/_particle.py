"""A transformer over jet constituents: the particle-level alternative to jet images."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..kinematics._torch import pt_eta_phi, wrap_phi
from ._modules import register_module

#: Per-particle features the network computes from (E, px, py, pz), in order.
PARTICLE_FEATURES = (
    "delta_eta",
    "delta_phi",
    "log_pt",
    "log_energy",
    "log_pt_fraction",
    "log_energy_fraction",
    "delta_r",
)

#: Pairwise features that bias the attention (ln kT, ln z, ln Delta R, ln m^2).
PAIR_FEATURES = ("log_kt", "log_z", "log_delta_r", "log_mass2")

# Fixed shifts and scales that bring the logarithmic features to order one for
# momenta in GeV (the values used by the Particle Transformer's reference
# configuration for top tagging).
_SHIFT = torch.tensor([0.0, 0.0, 1.7, 2.0, -4.7, -4.7, 0.2])
_SCALE = torch.tensor([1.0, 1.0, 0.7, 0.7, 0.7, 0.7, 4.0])
_TINY = 1e-8


def particle_features(p4, mask):
    """Per-particle features of padded constituents ``(E, px, py, pz)``.

    Parameters
    ----------
    p4 : Tensor of shape (n_jets, n_particles, 4)
        Four-momenta in GeV, zero rows for padding.
    mask : Tensor of bool, shape (n_jets, n_particles)
        True for real constituents.

    Returns
    -------
    Tensor of shape (n_jets, n_particles, 7)
        :data:`PARTICLE_FEATURES`, shifted and scaled to order one, zero for
        padding. Angles are relative to the jet axis (the four-momentum sum).
    """
    E, px, py, pz = p4.unbind(-1)
    jet = p4.sum(1)
    jet_pt, jet_eta, jet_phi = pt_eta_phi(*jet[:, 1:].unbind(-1), pt_floor=_TINY)
    safe_pt, eta, phi = pt_eta_phi(px, py, pz, mask=mask)
    safe_e = torch.where(mask, E.clamp_min(_TINY), torch.ones_like(E))
    deta = eta - jet_eta[:, None]
    dphi = wrap_phi(phi - jet_phi[:, None])
    log_pt, log_e = torch.log(safe_pt), torch.log(safe_e)
    feats = torch.stack(
        [
            deta,
            dphi,
            log_pt,
            log_e,
            log_pt - torch.log(jet_pt)[:, None],
            log_e - torch.log(jet[:, 0].clamp_min(_TINY))[:, None],
            torch.hypot(deta, dphi),
        ],
        dim=-1,
    )
    feats = (feats - _SHIFT.to(feats)) * _SCALE.to(feats)
    return torch.where(mask[..., None], feats, torch.zeros_like(feats))


def pair_features(p4, mask):
    """Pairwise features of padded constituents, for the attention bias.

    For particles a, b with rapidities y, azimuths phi and transverse momenta
    pt: ``Delta = sqrt((y_a - y_b)^2 + (phi_a - phi_b)^2)``,
    ``kT = min(pt_a, pt_b) Delta``, ``z = min(pt_a, pt_b) / (pt_a + pt_b)`` and
    ``m^2 = (p_a + p_b)^2``; the features are their logarithms.

    Parameters
    ----------
    p4 : Tensor of shape (n_jets, n_particles, 4)
        Four-momenta ``(E, px, py, pz)`` in GeV, zero rows for padding.
    mask : Tensor of bool, shape (n_jets, n_particles)
        True for real constituents.

    Returns
    -------
    Tensor of shape (n_jets, 4, n_particles, n_particles)
        :data:`PAIR_FEATURES`; zero where either particle is padding.
    """
    E, px, py, pz = p4.unbind(-1)
    px = torch.where(mask, px, torch.ones_like(px))  # finite gradients (see
    py = torch.where(mask, py, torch.zeros_like(py))  # pt_eta_phi)
    pt = torch.hypot(px, py).clamp_min(_TINY)
    rap = 0.5 * torch.log((E + pz).clamp_min(_TINY) / (E - pz).clamp_min(_TINY))
    phi = torch.atan2(py, px)
    drap = rap[:, :, None] - rap[:, None, :]
    dphi = wrap_phi(phi[:, :, None] - phi[:, None, :])
    # hypot's gradient at (0, 0) is 0/0: a particle paired with itself (and
    # padding with padding) would give NaN input gradients to attributions
    apart = (drap != 0) | (dphi != 0)
    delta = torch.where(
        apart,
        torch.hypot(torch.where(apart, drap, 1.0), torch.where(apart, dphi, 0.0)),
        0.0,
    )
    pt_min = torch.minimum(pt[:, :, None], pt[:, None, :])
    kt = pt_min * delta
    z = pt_min / (pt[:, :, None] + pt[:, None, :])
    pair = p4[:, :, None, :] + p4[:, None, :, :]
    m2 = pair[..., 0] ** 2 - (pair[..., 1:] ** 2).sum(-1)
    out = torch.log(torch.stack([kt, z, delta, m2], dim=1).clamp_min(_TINY))
    both = (mask[:, :, None] & mask[:, None, :])[:, None]
    return torch.where(both, out, torch.zeros_like(out))


class _Attention(nn.Module):
    def __init__(self, dim, n_heads, dropout):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(self, query, context, bias):
        """Attention of ``query`` to ``context`` (``None``: to itself)."""
        n, nq, dim = query.shape
        h = self.n_heads
        if context is None:
            q, k, v = self.qkv(query).chunk(3, dim=-1)
        else:
            q = self.qkv(query)[..., :dim]
            k, v = self.qkv(context)[..., dim:].chunk(2, dim=-1)

        def heads(t):
            return t.reshape(n, t.shape[1], h, dim // h).transpose(1, 2)

        y = F.scaled_dot_product_attention(
            heads(q),
            heads(k),
            heads(v),
            attn_mask=bias.to(q.dtype),
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.out(y.transpose(1, 2).reshape(n, nq, dim))


class _Block(nn.Module):
    """Pre-norm transformer block: attention then a GELU feed-forward layer."""

    def __init__(self, dim, n_heads, dropout):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = _Attention(dim, n_heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.feed_forward = nn.Sequential(
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(4 * dim, dim),
        )

    def forward(self, x, context, bias):
        context = self.norm1(context) if context is not None else None
        x = x + self.attention(self.norm1(x), context, bias)
        return x + self.feed_forward(self.norm2(x))


class _ClassAttentionTransformer(nn.Module):
    """What the set transformers share after their embeddings.

    Self-attention blocks over the set, then class-attention blocks that pool
    it into one learnt class token, then a normalised linear head. Subclasses
    embed their inputs, then call :meth:`_build_trunk` (after their own
    layers, so that parameters keep their order) and :meth:`_classify`.
    """

    def _build_trunk(self, dim, n_heads, n_layers, n_class_layers, dropout, n_classes):
        self.blocks = nn.ModuleList(
            _Block(dim, n_heads, dropout) for _ in range(n_layers)
        )
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.class_token, std=0.02)
        self.class_blocks = nn.ModuleList(
            _Block(dim, n_heads, dropout) for _ in range(n_class_layers)
        )
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, n_classes))

    def _classify(self, h, bias, mask):
        """Logits of embedded sets ``h`` ``(n, P, dim)``.

        ``bias`` is the self-attention's additive mask ``(n, 1 or heads, P,
        P)``; ``mask`` is True for real members. The class token sees itself
        and the real members.
        """
        for block in self.blocks:
            h = block(h, None, bias)
        n, p = mask.shape
        token = self.class_token.expand(n, -1, -1)
        keys_blocked = torch.zeros(n, 1, 1, p + 1, device=h.device)
        keys_blocked[:, :, :, 1:].masked_fill_(~mask[:, None, None, :], float("-inf"))
        for block in self.class_blocks:
            token = block(token, torch.cat([token, h], dim=1), keys_blocked)
        return self.head(token[:, 0])


@register_module("particle_transformer")
class ParticleTransformer(_ClassAttentionTransformer):
    """A transformer over jet constituents, with pairwise interaction features.

    The particle-level alternative to jet images, after the Particle
    Transformer (Qu, Li and Qian, 2022) in a small configuration: every
    constituent is embedded from seven kinematic features
    (:data:`PARTICLE_FEATURES`: angles to the jet axis, logarithms of pT and E
    and of their fractions of the jet's), ``n_layers`` self-attention blocks
    let the constituents see each other, with attention logits biased by a
    learnt function of the pairwise features ln kT, ln z, ln Delta R and ln m^2
    (:data:`PAIR_FEATURES`, per head), and ``n_class_layers`` class-attention
    blocks pool them into one learnt class token that is classified. Padding
    is masked out everywhere, so the output does not depend on it nor on the
    order of the constituents.

    Input: ``(n_jets, n_particles, 4)`` four-momenta ``(E, px, py, pz)`` in
    GeV, zero rows for padding (as made by
    :class:`hepclf.sequences.ConstituentSequencer`); each jet needs at least
    one constituent. ``CNNClassifier(module="particle_transformer")`` trains it
    like any image model.

    Parameters
    ----------
    n_classes : int, default=2
        Number of output logits (set by ``CNNClassifier`` from the labels).
    dim : int, default=64
        Width of the particle embeddings.
    n_heads : int, default=8
        Attention heads; must divide ``dim``.
    n_layers : int, default=4
        Self-attention blocks over the constituents.
    n_class_layers : int, default=2
        Class-attention blocks.
    pair_features : bool, default=True
        Bias the self-attention with the pairwise features; False gives a plain
        transformer (faster, and weaker).
    pair_dim : int, default=32
        Width of the small network that maps the pairwise features to a bias
        per head.
    dropout : float, default=0.0
        Dropout in attention and feed-forward layers.
    """

    input_kind = "particles"

    def __init__(
        self,
        n_classes: int = 2,
        dim: int = 64,
        n_heads: int = 8,
        n_layers: int = 4,
        n_class_layers: int = 2,
        pair_features: bool = True,
        pair_dim: int = 32,
        dropout: float = 0.0,
    ):
        super().__init__()
        if dim % n_heads:
            raise ValueError(
                f"ParticleTransformer: n_heads={n_heads} must divide dim={dim}"
            )
        self.n_heads = n_heads
        n_feat = len(PARTICLE_FEATURES)
        self.embed = nn.Sequential(
            nn.LayerNorm(n_feat), nn.Linear(n_feat, dim), nn.GELU(), nn.Linear(dim, dim)
        )
        self.pair_embed = (
            nn.Sequential(
                nn.Conv2d(len(PAIR_FEATURES), pair_dim, 1),
                nn.GELU(),
                nn.Conv2d(pair_dim, pair_dim, 1),
                nn.GELU(),
                nn.Conv2d(pair_dim, n_heads, 1),
            )
            if pair_features
            else None
        )
        self._build_trunk(dim, n_heads, n_layers, n_class_layers, dropout, n_classes)

    def forward(self, x):
        """Return the class logits of a batch of padded constituents ``(n, P, 4)``."""
        with torch.autocast(x.device.type, enabled=False):
            p4 = x.float()
            mask = (p4[..., 1] != 0) | (p4[..., 2] != 0)
            feats = particle_features(p4, mask)
            pairs = pair_features(p4, mask) if self.pair_embed is not None else None
        n, p, _ = x.shape
        blocked = torch.zeros(n, 1, 1, p, device=x.device).masked_fill(
            ~mask[:, None, None, :], float("-inf")
        )
        bias = blocked if pairs is None else self.pair_embed(pairs) + blocked
        return self._classify(self.embed(feats) * mask[..., None], bias, mask)
