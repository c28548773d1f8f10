"""disco-dock: molecular docking with DisCo-Diff (diffusion models with discrete latents).

Docking from Python (`disco_dock.docking.api`; imported on first use, so that `import disco_dock`
stays light):

    import disco_dock
    result = disco_dock.dock("protein.pdb", "ligand.sdf", pocket="box.json", samples=10)
    best = result.poses[0]  # .mol (RDKit), .confidence, .vina_score, .valid, .flag
    disco_dock.write(result, "poses/")

The modality-agnostic DisCo-Diff machinery lives in `disco_dock.core`; backends are
`disco_dock.toy` (2D mixture), `disco_dock.image` and `disco_dock.docking`.
"""

from disco_dock.core.lazy import lazy_exports

__version__ = "0.1.0"
__getattr__, __all__ = lazy_exports(__name__, {"docking.api": ("dock", "write")})
