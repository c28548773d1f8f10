"""The docking data layer: PDB/mmCIF proteins and SDF/MOL2/PDB/SMILES ligands to cached
`torch_geometric` graphs (see `data/README.md` for the cache format and every graph field)."""

from disco_dock.docking.data.cache import load_graph, save_graph
from disco_dock.docking.data.config import DataConfig, GraphConfig
from disco_dock.docking.data.conformers import (
    Conformers,
    MatchResult,
    generate_conformers,
    match_conformer,
    rotatable_bonds,
)
from disco_dock.docking.data.dataset import ComplexDataset
from disco_dock.docking.data.discover import ComplexSource, discover_complexes, read_ids
from disco_dock.docking.data.errors import DataError, DataWarning
from disco_dock.docking.data.graph import build_complex_graph, knn, knn_graph, radius, radius_graph, torsion_mask
from disco_dock.docking.data.ligand import (
    ATOM_FEATURES,
    BOND_FEATURES,
    Ligand,
    LigandFeatures,
    featurize_ligand,
    ligand_from_smiles,
    load_ligand,
    read_ligand,
)
from disco_dock.docking.data.preprocess import PreprocessSummary, preprocess_dataset, process_complex
from disco_dock.docking.data.protein import NUM_RESIDUE_TYPES, RESIDUE_TYPES, Receptor, read_protein

__all__ = [
    "ATOM_FEATURES", "BOND_FEATURES", "NUM_RESIDUE_TYPES", "RESIDUE_TYPES",
    "ComplexDataset", "ComplexSource", "Conformers", "DataConfig", "GraphConfig", "DataError", "DataWarning",
    "Ligand", "LigandFeatures", "MatchResult", "PreprocessSummary", "Receptor",
    "build_complex_graph", "discover_complexes", "featurize_ligand",
    "generate_conformers", "knn", "knn_graph", "ligand_from_smiles", "load_graph",
    "load_ligand", "match_conformer", "preprocess_dataset", "process_complex", "radius",
    "radius_graph", "read_ids", "read_ligand", "read_protein", "rotatable_bonds",
    "save_graph", "torsion_mask",
]  # fmt: skip
