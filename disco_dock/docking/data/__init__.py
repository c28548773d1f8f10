"""The docking data layer: PDB/mmCIF proteins and SDF/MOL2/PDB/SMILES ligands to cached
`torch_geometric` graphs (see `data/README.md` for the cache format and every graph field).

Names are imported on first use (`core.lazy`): reading a protein or a ligand (`data.protein`,
`data.ligand`) imports neither torch_geometric nor the networks, so that the command line checks
its inputs before it pays for them.
"""

from disco_dock.core.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "cache": ("load_graph", "save_graph"),
    "config": ("DataConfig", "GraphConfig"),
    "conformers": ("Conformers", "MatchResult", "generate_conformers", "match_conformer", "rotatable_bonds"),
    "dataset": ("ComplexDataset",),
    "discover": ("ComplexSource", "discover_complexes", "read_ids"),
    "errors": ("DataError", "DataWarning"),
    "graph": ("build_complex_graph", "knn", "knn_graph", "radius", "radius_graph", "torsion_mask"),
    "ligand": ("ATOM_FEATURES", "BOND_FEATURES", "Ligand", "LigandFeatures", "featurize_ligand", "ligand_from_smiles", "load_ligand", "read_ligand"),
    "preprocess": ("PreprocessSummary", "preprocess_dataset", "process_complex"),
    "protein": ("NUM_RESIDUE_TYPES", "RESIDUE_TYPES", "Receptor", "read_protein"),
})  # fmt: skip
