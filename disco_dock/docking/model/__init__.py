"""The docking networks: the DiffDock-style score model with DisCo latents, the latent encoder,
the latents' autoregressive prior and the pose confidence model.

Latents point at nodes: see `graph` for the node order of latents and encoder logits.
"""

from disco_dock.docking.model.confidence import ConfidenceModel
from disco_dock.docking.model.config import ScoreModelConfig
from disco_dock.docking.model.encoder import LatentEncoder
from disco_dock.docking.model.graph import count_graphs, join_latents, latent_segment, node_graph, split_latents
from disco_dock.docking.model.prior import PointerPrior, segment_log_softmax
from disco_dock.docking.model.score import LatentLabels, ScoreModel, Scores
from disco_dock.docking.model.trunk import ComplexTrunk, node_irreps

__all__ = [
    "ComplexTrunk", "ConfidenceModel", "LatentEncoder", "LatentLabels", "PointerPrior", "ScoreModel", "ScoreModelConfig",
    "Scores", "count_graphs", "join_latents", "latent_segment", "node_graph", "node_irreps", "segment_log_softmax",
    "split_latents",
]  # fmt: skip
