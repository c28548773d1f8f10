"""Sizes and graph cutoffs of the docking networks, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from disco_dock.core.config import Settings
from disco_dock.docking.data.config import GraphConfig


@dataclass(frozen=True)
class ScoreModelConfig(Settings):
    """Sizes, radii and caps of `ScoreModel` and `LatentEncoder` (a DiffDock-S-sized default).

    Every node carries `ns` scalars (0e), `nv` vectors (1o) and `nv` pseudovectors (1e).
    Cross (ligand-receptor) edges join a ligand atom to at most `cross_max_neighbors` nearest
    receptor residues (CA) within `cross_distance_base + cross_distance_per_sigma * sigma_tr`:
    the noisier the pose, the farther the ligand may be from its pocket, so the farther it
    looks (DiffDock uses 20 + 3 sigma without a neighbour cap; 10 A with a cap of 24 residues
    per atom keeps the first residue shells of a docked pose and a bounded cost on a CPU).
    """

    ns: int = 24
    """Scalar (0e) channels per node."""
    nv: int = 6
    """Vector channels per node, of each parity (1o and 1e)."""
    num_layers: int = 5
    """Interaction layers of the score model."""
    encoder_layers: int = 3
    """Interaction layers of the latent encoder."""
    sh_lmax: int = 1
    """Highest degree of the edge spherical harmonics."""
    num_latents: int = 2
    """DisCo latents m, each a pointer to one ligand or receptor node per complex; 0 = plain DiffDock."""
    graph: GraphConfig = field(default_factory=GraphConfig)
    """Edge radii and neighbour caps, shared with the data layer that stores the graph's edges."""
    cross_distance_base: float = 10.0
    """Cross-edge cutoff at zero translation noise (A); also the latent encoder's cutoff."""
    cross_distance_per_sigma: float = 3.0
    """Growth of the cross-edge cutoff per Angstrom of translation noise sigma_tr."""
    cross_max_neighbors: int = 24
    """At most this many receptor residues (the nearest) per ligand atom on cross edges."""
    cross_embedding_range: float = 40.0
    """Cross-edge distances are embedded on [0, this] (A); longer ones look like this long."""
    center_embedding_range: float = 20.0
    """Atom-to-centroid distances of the translation/rotation head are embedded on [0, this] (A)."""
    distance_embed_dim: int = 32
    """Gaussian radial basis functions per edge distance."""
    time_embed_dim: int = 16
    """Sinusoidal features per noise level (log sigma_tr, log sigma_rot, log sigma_tor)."""
    dropout: float = 0.0
    """Dropout in the edge MLPs that make the tensor-product weights."""

    def cross_cutoff(self, sigma_tr):
        """Cross-edge cutoff (A) for translation noise `sigma_tr` (A); works on floats and tensors."""
        return self.cross_distance_base + self.cross_distance_per_sigma * sigma_tr
