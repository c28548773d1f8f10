"""Ligands from SDF, MOL2, PDB or a SMILES string (through RDKit), and their graph features.

Sanitisation fallback chain, for a ligand file (`read_ligand`), first success wins:

1. the file itself (SDF, MOL2 or PDB), fully sanitised;
2. the fallback file, if one is given (the MOL2 of the same complex, as in PDBbind), fully
   sanitised;
3. partial sanitisation of the first of those RDKit can read at all: valences are not checked
   and aromaticity is kept as written (`Chem.SanitizeMol` without the properties and
   kekulisation steps, errors caught), which rescues e.g. the hypervalent atoms PDBbind's SDFs
   sometimes contain.

`Ligand.route` records which step succeeded. Hydrogens are always removed (their count stays
as a feature). A file ligand must carry a 3D pose; a SMILES ligand has none.

A ligand to dock (`docking_ligand`) is checked more strictly, as its pose is not used: one
molecule per file, fully sanitised (no partial fallback: what RDKit cannot sanitise would be
written into SDFs RDKit cannot read), and 2D coordinates are accepted like a SMILES string.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem, rdBase

from disco_dock.docking.data.errors import DataError

LIGAND_SUFFIXES = (".sdf", ".mol", ".mol2", ".pdb")
"""File types `read_ligand` reads; any other ligand string is taken as SMILES."""

_ELEMENTS = (6, 7, 8, 16, 9, 15, 17, 35, 53, 5, 14, 34)  # C N O S F P Cl Br I B Si Se
_HYBRIDISATIONS = (
    Chem.HybridizationType.S,
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
)
_CHIRALITIES = (Chem.ChiralType.CHI_UNSPECIFIED, Chem.ChiralType.CHI_TETRAHEDRAL_CW, Chem.ChiralType.CHI_TETRAHEDRAL_CCW)
_BOND_TYPES = (Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC)

ATOM_FEATURES: tuple[tuple[str, int], ...] = (
    ("element", len(_ELEMENTS) + 1),  # C N O S F P Cl Br I B Si Se, other
    ("degree", 7),  # heavy-atom neighbours 0..5, 6 or more
    ("formal_charge", 5),  # -2..+2 (clipped), stored as charge + 2
    ("aromatic", 2),
    ("hybridisation", len(_HYBRIDISATIONS) + 1),  # S SP SP2 SP3 SP3D SP3D2, other
    ("ring_count", 4),  # number of SSSR rings the atom is in: 0, 1, 2, 3 or more
    ("chirality", len(_CHIRALITIES) + 1),  # unspecified, CW, CCW, other
    ("num_hs", 5),  # attached hydrogens 0..3, 4 or more
)
"""Ligand atom feature columns: (name, number of categories). Values are category indices."""
BOND_FEATURES: tuple[tuple[str, int], ...] = (
    ("bond_type", len(_BOND_TYPES) + 1),  # single, double, triple, aromatic, other
    ("conjugated", 2),
    ("in_ring", 2),
)
"""Ligand bond feature columns: (name, number of categories). Values are category indices."""


@dataclass(frozen=True)
class Ligand:
    """A heavy-atom RDKit molecule, with its pose when it came from a file."""

    mol: Chem.Mol
    source: str  # the file path or the SMILES string
    route: str  # how it was read: "sdf", "mol2 (fallback)", "sdf (partial sanitisation)", "smiles", ...

    @property
    def has_pose(self) -> bool:
        """Whether the molecule carries coordinates from the input (a crystal or docked pose)."""
        return self.mol.GetNumConformers() > 0

    @property
    def positions(self) -> np.ndarray:
        """(N, 3) float64 atom positions of the input pose."""
        return self.mol.GetConformer().GetPositions()


@dataclass(frozen=True)
class LigandFeatures:
    """Graph features of a ligand with N heavy atoms and B bonds (each bond in both directions)."""

    atom_features: np.ndarray  # (N, len(ATOM_FEATURES)) int64 category indices
    bond_index: np.ndarray  # (2, 2B) int64, [source, target]
    bond_features: np.ndarray  # (2B, len(BOND_FEATURES)) int64 category indices


@contextlib.contextmanager
def rdkit_messages() -> Iterator[list[str]]:
    """Silence RDKit's logging; yields a list that receives RDKit's error messages on exit."""
    messages: list[str] = []
    with rdBase.BlockLogs():
        capture = rdBase.CaptureErrorLog() if hasattr(rdBase, "CaptureErrorLog") else None  # RDKit >= 2025.09
        if capture is None:
            yield messages
            return
        with capture:
            yield messages
        lines = [line.split("] ", 1)[-1].strip() for line in capture.messages.splitlines()]
        messages.extend(line for line in lines if line)


def _rdkit_reason(what: str, messages: list[str]) -> str:
    """A one-line reason, with RDKit's last error message where it gave one."""
    return f"{what}: {messages[-1]}" if messages else what


def _read_unsanitised(path: Path) -> Chem.Mol:
    """The first molecule of an SDF/MOL/MOL2/PDB file, neither sanitised nor stripped of H."""
    if not path.is_file():
        raise DataError(path, "file not found")
    if path.stat().st_size == 0:
        raise DataError(path, "empty file")
    suffix = path.suffix.lower()
    with rdkit_messages() as messages:
        if suffix in (".sdf", ".mol"):
            mol = next(iter(Chem.SDMolSupplier(str(path), sanitize=False, removeHs=False)), None)
        elif suffix == ".mol2":
            mol = Chem.MolFromMol2File(str(path), sanitize=False, removeHs=False)
        elif suffix == ".pdb":
            mol = Chem.MolFromPDBFile(str(path), sanitize=False, removeHs=False)
        else:
            raise DataError(path, f"unknown ligand file type {suffix!r} (expected one of {', '.join(LIGAND_SUFFIXES)})")
    if mol is None:
        raise DataError(path, _rdkit_reason("RDKit cannot read a molecule", messages))
    if mol.GetNumAtoms() == 0:
        raise DataError(path, "molecule has no atoms")
    return _without_queries(mol)


def _without_queries(mol: Chem.Mol) -> Chem.Mol:
    """`mol` with plain atoms and bonds in place of query ones (an SDF's hydrogen-count or
    ring-bond fields make RDKit read queries, which meeko, and so Vina, refuses): same elements,
    charges, isotopes, chirality tags, bond types, conformers and properties; the hydrogen counts of
    former query atoms come from their valences."""
    if not any(atom.HasQuery() for atom in mol.GetAtoms()) and not any(bond.HasQuery() for bond in mol.GetBonds()):
        return mol
    plain = Chem.RWMol()
    for atom in mol.GetAtoms():
        copy = Chem.Atom(atom.GetAtomicNum())
        copy.SetFormalCharge(atom.GetFormalCharge())
        copy.SetIsotope(atom.GetIsotope())
        copy.SetNumRadicalElectrons(atom.GetNumRadicalElectrons())
        copy.SetChiralTag(atom.GetChiralTag())
        if not atom.HasQuery():  # a query atom's hydrogen count is a query: RDKit works it out again
            copy.SetNoImplicit(atom.GetNoImplicit())
            copy.SetNumExplicitHs(atom.GetNumExplicitHs())
        copy.SetIsAromatic(atom.GetIsAromatic())
        plain.AddAtom(copy)
    for bond in mol.GetBonds():
        plain.AddBond(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx(), bond.GetBondType())
        plain.GetBondWithIdx(plain.GetNumBonds() - 1).SetIsAromatic(bond.GetIsAromatic())
    for conformer in mol.GetConformers():
        plain.AddConformer(Chem.Conformer(conformer), assignId=True)
    for name, value in mol.GetPropsAsDict(includePrivate=False, includeComputed=False).items():
        plain.SetProp(name, str(value))
    if mol.HasProp("_Name"):
        plain.SetProp("_Name", mol.GetProp("_Name"))
    return plain.GetMol()


def _sanitised(mol: Chem.Mol, source: Path | str) -> Chem.Mol:
    """A fully sanitised, hydrogen-free copy of `mol`, or DataError with RDKit's reason."""
    mol = Chem.Mol(mol)
    with rdkit_messages():
        try:
            Chem.SanitizeMol(mol)
            return Chem.RemoveAllHs(mol)
        except Exception as error:  # RDKit raises several exception types (MolSanitizeException, ...)
            reason = str(error) or type(error).__name__
    raise DataError(source, f"RDKit cannot sanitise the molecule: {reason}")


def _partially_sanitised(mol: Chem.Mol) -> Chem.Mol:
    """A hydrogen-free copy of `mol` with ring, aromaticity, conjugation and hybridisation set,
    but valences unchecked."""
    mol = Chem.Mol(mol)
    with rdkit_messages():
        mol.UpdatePropertyCache(strict=False)
        operations = Chem.SanitizeFlags.SANITIZE_ALL ^ Chem.SanitizeFlags.SANITIZE_PROPERTIES ^ Chem.SanitizeFlags.SANITIZE_KEKULIZE
        Chem.SanitizeMol(mol, operations, catchErrors=True)
        mol = Chem.RemoveAllHs(mol, sanitize=False)
        mol.UpdatePropertyCache(strict=False)
        Chem.GetSymmSSSR(mol)
    return mol


def _check_pose(mol: Chem.Mol, path: Path) -> None:
    """DataError unless `mol` has 3D coordinates."""
    if mol.GetNumConformers() == 0:
        raise DataError(path, "no coordinates; a 3D pose is needed")
    positions = mol.GetConformer().GetPositions()
    if not np.isfinite(positions).all():
        raise DataError(path, "non-finite coordinates")
    if mol.GetNumAtoms() > 1 and np.abs(positions[:, 2]).max() < 1e-4:
        raise DataError(path, "2D-only coordinates (every z is 0); a 3D pose is needed")


def read_ligand(path: str | Path, fallback: str | Path | None = None) -> Ligand:
    """Read a ligand pose from an SDF, MOL2 or PDB file, with the module's fallback chain.

    `fallback` is a second file of the same ligand (PDBbind's MOL2 beside its SDF), tried when
    the first cannot be read, has no 3D pose or cannot be sanitised. The first molecule of a
    multi-molecule file is read.
    """
    candidates = [Path(path)] + ([Path(fallback)] if fallback is not None else [])
    readable: list[tuple[Path, Chem.Mol]] = []
    errors: list[DataError] = []
    for i, candidate in enumerate(candidates):
        try:
            mol = _read_unsanitised(candidate)
            _check_pose(mol, candidate)
        except DataError as error:
            errors.append(error)
            continue
        readable.append((candidate, mol))
        try:
            return Ligand(_sanitised(mol, candidate), str(candidate), _route(candidate, "fallback" if i else ""))
        except DataError as error:
            errors.append(error)
    if not readable:
        if len(errors) == 1:
            raise errors[0]
        raise DataError(errors[0].source, f"{errors[0].reason}; fallback {errors[1]}")
    candidate, mol = readable[0]
    return Ligand(_partially_sanitised(mol), str(candidate), _route(candidate, "partial sanitisation"))


def _route(path: Path, note: str) -> str:
    """`Ligand.route` for a file: its type, and a note on how it was sanitised."""
    kind = path.suffix.lower().lstrip(".")
    return f"{kind} ({note})" if note else kind


def docking_ligand(description: str | Path) -> Ligand:
    """The ligand to dock, from a file (one molecule, any coordinates: its pose is not used) or
    a SMILES string; DataError when it is not exactly one molecule RDKit can sanitise."""
    text = str(description)
    if not (isinstance(description, Path) or Path(text).suffix.lower() in LIGAND_SUFFIXES or Path(text).is_file()):
        return ligand_from_smiles(text)
    path = Path(text)
    mol = _read_unsanitised(path)
    if path.suffix.lower() in (".sdf", ".mol"):
        with rdkit_messages():
            count = sum(1 for _ in Chem.SDMolSupplier(str(path), sanitize=False))
        if count > 1:
            raise DataError(path, f"{count} molecules in the file; dock one molecule per file (a --csv batch docks many)")
    return Ligand(_sanitised(mol, path), str(path), _route(path, ""))


def ligand_from_smiles(smiles: str) -> Ligand:
    """A ligand without a pose, from a SMILES string."""
    with rdkit_messages() as messages:
        mol = Chem.MolFromSmiles(smiles) if smiles.strip() else None
    if mol is None:
        raise DataError(smiles, _rdkit_reason("SMILES does not parse", messages))
    mol = Chem.RemoveAllHs(mol)
    if mol.GetNumAtoms() == 0:
        raise DataError(smiles, "SMILES has no heavy atoms")
    return Ligand(mol, smiles, "smiles")


def load_ligand(description: str | Path, fallback: str | Path | None = None) -> Ligand:
    """A ligand from a file path (known suffix, see `LIGAND_SUFFIXES`) or else a SMILES string."""
    text = str(description)
    if isinstance(description, Path) or Path(text).suffix.lower() in LIGAND_SUFFIXES or Path(text).is_file():
        return read_ligand(text, fallback)
    return ligand_from_smiles(text)


def _clip(value: int, size: int) -> int:
    return min(max(value, 0), size - 1)


def featurize_ligand(mol: Chem.Mol) -> LigandFeatures:
    """Category-index atom and bond features of a heavy-atom molecule (see ATOM_FEATURES, BOND_FEATURES)."""
    ring_info = mol.GetRingInfo()
    sizes = dict(ATOM_FEATURES)
    atom_features = [
        (
            _ELEMENTS.index(atom.GetAtomicNum()) if atom.GetAtomicNum() in _ELEMENTS else len(_ELEMENTS),
            _clip(atom.GetDegree(), sizes["degree"]),
            _clip(atom.GetFormalCharge() + 2, sizes["formal_charge"]),
            int(atom.GetIsAromatic()),
            _HYBRIDISATIONS.index(atom.GetHybridization()) if atom.GetHybridization() in _HYBRIDISATIONS else len(_HYBRIDISATIONS),
            _clip(ring_info.NumAtomRings(atom.GetIdx()), sizes["ring_count"]),
            _CHIRALITIES.index(atom.GetChiralTag()) if atom.GetChiralTag() in _CHIRALITIES else len(_CHIRALITIES),
            _clip(atom.GetTotalNumHs(), sizes["num_hs"]),
        )
        for atom in mol.GetAtoms()
    ]
    bonds = list(mol.GetBonds())
    bond_rows = [
        (
            _BOND_TYPES.index(bond.GetBondType()) if bond.GetBondType() in _BOND_TYPES else len(_BOND_TYPES),
            int(bond.GetIsConjugated()),
            int(ring_info.NumBondRings(bond.GetIdx()) > 0),
        )
        for bond in bonds
    ]
    begin = [bond.GetBeginAtomIdx() for bond in bonds]
    end = [bond.GetEndAtomIdx() for bond in bonds]
    index = np.array([begin + end, end + begin], dtype=np.int64)
    return LigandFeatures(
        atom_features=np.array(atom_features, dtype=np.int64).reshape(-1, len(ATOM_FEATURES)),
        bond_index=index.reshape(2, -1),
        bond_features=np.array(bond_rows + bond_rows, dtype=np.int64).reshape(-1, len(BOND_FEATURES)),
    )


def element_skeleton(mol: Chem.Mol) -> Chem.Mol:
    """The heavy-atom graph of `mol` with elements only: single bonds, no charges, no aromaticity."""
    skeleton = Chem.RWMol(Chem.RemoveAllHs(mol, sanitize=False))
    for atom in skeleton.GetAtoms():
        atom.SetFormalCharge(0)
        atom.SetIsAromatic(False)
        atom.SetNoImplicit(True)
        atom.SetNumExplicitHs(0)
        atom.SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
    for bond in skeleton.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    skeleton.UpdatePropertyCache(strict=False)
    return skeleton.GetMol()


def heavy_positions_in_reference_order(mol: Chem.Mol, reference: Chem.Mol) -> np.ndarray:
    """(K, N, 3) heavy-atom positions of every conformer of `mol`, reordered to `reference`'s atoms.

    The atoms are matched on the heavy-atom graph with elements only (bond orders, charges
    and aromaticity may be written differently); DataError when the graphs differ.
    """
    heavy = Chem.RemoveAllHs(mol, sanitize=False)
    if heavy.GetNumAtoms() != reference.GetNumAtoms():
        raise DataError("pose", f"{heavy.GetNumAtoms()} heavy atoms, the crystal ligand has {reference.GetNumAtoms()}")
    match = element_skeleton(heavy).GetSubstructMatch(element_skeleton(reference))
    if len(match) != reference.GetNumAtoms():
        raise DataError("pose", "its heavy-atom graph does not match the crystal ligand's")
    order = list(match)
    return np.stack([conformer.GetPositions()[order] for conformer in heavy.GetConformers()])
