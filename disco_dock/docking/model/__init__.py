"""The docking networks: the DiffDock-style score model with DisCo latents, the latent encoder,
the latents' autoregressive prior and the pose confidence model.

Latents point at nodes: see `graph` for the node order of latents and encoder logits. Names are
imported on first use (`core.lazy`): the networks' settings are read without the networks.
"""

from disco_dock.core.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "confidence": ("ConfidenceModel",),
    "config": ("ScoreModelConfig",),
    "encoder": ("LatentEncoder",),
    "graph": ("join_latents", "latent_segment", "node_graph", "split_latents"),
    "prior": ("PointerPrior", "segment_log_softmax"),
    "score": ("LatentLabels", "ScoreModel", "Scores"),
    "trunk": ("ComplexTrunk", "node_irreps"),
})  # fmt: skip
