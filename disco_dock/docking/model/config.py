"""Sizes and graph cutoffs of the docking networks, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from disco_dock.core.config import Settings
from disco_dock.docking.data.config import GraphConfig

NODE, NONE = "node", "none"
"""`vector_norm`: divide each node's l > 0 features by their RMS over channels, or leave them."""
SCALE, DIRECTION = "scale", "direction"
"""`rigid_head`: the raw output times an MLP of its norm, or its unit direction times one."""


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

    LEGACY: ClassVar[Mapping[str, Any]] = {"torsion_axis": "2e", "vector_norm": NODE, "rigid_head": SCALE}

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
    torsion_axis: str = "2e"
    """Spherical harmonics of the bond axis in the torsion head, multiplied with the edge harmonics
    (DiffDock: "2e"). With `sh_lmax` 1 and "2e" the torsion output has a single tensor-product
    path (1e x 1o); "1o + 2e" adds the signed axis (1o x 1e: the node vectors' torque about the
    bond, and 1e x 1o)."""
    vector_norm: str = NODE
    """Normalisation of the l > 0 node features after each layer: NODE (unit RMS per node) or NONE."""
    rigid_head: str = SCALE
    """Translation and rotation outputs: SCALE (raw output times an MLP of its norm and the noise)
    or DIRECTION (its unit direction times that MLP)."""

    def __post_init__(self):
        if self.vector_norm not in (NODE, NONE):
            raise ValueError(f"vector_norm must be {NODE!r} or {NONE!r}, not {self.vector_norm!r}")
        if self.rigid_head not in (SCALE, DIRECTION):
            raise ValueError(f"rigid_head must be {SCALE!r} or {DIRECTION!r}, not {self.rigid_head!r}")
        from e3nn import o3  # here, not at the top: the command line reads settings without loading e3nn

        axis = o3.Irreps(self.torsion_axis)
        if not axis or any(mul != 1 or ir.l < 1 or ir.p != (-1) ** ir.l for mul, ir in axis):
            raise ValueError(f"torsion_axis must be spherical harmonics of degree >= 1 such as '2e' or '1o + 2e', not {self.torsion_axis!r}")

    def cross_cutoff(self, sigma_tr):
        """Cross-edge cutoff (A) for translation noise `sigma_tr` (A); works on floats and tensors."""
        return self.cross_distance_base + self.cross_distance_per_sigma * sigma_tr
