"""Preconditioning of the score model, as EDM wraps its denoisers: the network predicts scores in
units where they are O(1) at every noise level, and `ScoreScales` converts between those
unit-normalised scores and the actual scores of the pose diffusion.

* translation: actual = normalised / sigma_tr (the normalised score sigma_tr * score is a
  standard normal vector);
* rotation: actual = normalised * sqrt(E|score|^2) under IGSO3(sigma_rot);
* torsion: actual = normalised * sqrt(E score^2) under the wrapped normal(sigma_tor).

Training compares the network's output with `normalised(kernel scores)`; sampling feeds
`actual(network output)` to the reverse SDE. The scaling is defined here only.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from disco_dock.docking.diffusion.so3 import igso3_score_norm_sq
from disco_dock.docking.diffusion.torus import wrapped_normal_score_norm_sq


class ScoreScales(NamedTuple):
    """Factors from unit-normalised to actual scores of a batch: (G, 1) per graph for the
    translation and rotation, (R,) per rotatable bond for the torsions."""

    translation: Tensor
    rotation: Tensor
    torsion: Tensor

    @classmethod
    def at(cls, sigma_tr: Tensor, sigma_rot: Tensor, sigma_tor: Tensor, bond_graph: Tensor) -> "ScoreScales":
        """The factors at per-graph (G,) noise levels, for bonds of graphs `bond_graph` (R,)."""
        return cls(
            (1 / sigma_tr)[:, None],
            igso3_score_norm_sq(sigma_rot).sqrt()[:, None],
            wrapped_normal_score_norm_sq(sigma_tor).sqrt()[bond_graph],
        )

    def actual(self, translation: Tensor, rotation: Tensor, torsion: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Actual scores (G, 3), (G, 3), (R,) of unit-normalised ones (the network's output)."""
        return translation * self.translation, rotation * self.rotation, torsion * self.torsion

    def normalised(self, translation: Tensor, rotation: Tensor, torsion: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Unit-normalised scores of actual ones (the training targets); inverse of `actual`."""
        return translation / self.translation, rotation / self.rotation, torsion / self.torsion
