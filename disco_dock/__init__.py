"""disco-dock: molecular docking with DisCo-Diff (diffusion models with discrete latents).

The modality-agnostic DisCo-Diff machinery lives in `disco_dock.core`; backends are
`disco_dock.toy` (2D mixture), `disco_dock.image` and `disco_dock.docking`.
"""

__version__ = "0.1.0"
