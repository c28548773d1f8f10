"""Receptors from PDB and mmCIF files: one node per amino-acid residue.

Reading rules (the same for both formats):

* only the first model is read;
* ATOM records are residues; HETATM records are read only when the residue is an amino acid
  (standard, or a modified one in `MODIFIED_RESIDUES`, which maps it to its parent, e.g. MSE to
  MET); other hetero groups (ligands, ions, sugars, cofactors) and waters are left out;
* a residue name that is neither standard nor in `MODIFIED_RESIDUES` (in ATOM records) becomes
  type "other" (`OTHER_RESIDUE`);
* alternate locations: each atom keeps its highest-occupancy position (the first on a tie);
* residues are keyed by chain, number and insertion code, so insertion codes give separate
  residues; any number of chains;
* residues without a CA atom are skipped, with one `DataWarning` per file listing them.

PDB files are read with a small column-based reader (Biopython's PDBParser takes seconds on
large files); mmCIF files through Biopython's `MMCIF2Dict`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disco_dock.docking.data.errors import DataError, DataWarning

RESIDUE_TYPES: tuple[str, ...] = (
    "ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE",
    "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL",
)  # fmt: skip
"""The 20 standard amino acids; a residue's type is its index here."""
OTHER_RESIDUE: int = len(RESIDUE_TYPES)
"""Type index of residues that are not (or do not map to) a standard amino acid."""
NUM_RESIDUE_TYPES: int = OTHER_RESIDUE + 1

MODIFIED_RESIDUES: dict[str, str] = {
    # selenium / phosphorylation / oxidation / methylation and other common modifications
    "MSE": "MET", "FME": "MET", "CXM": "MET",
    "SEP": "SER", "SAC": "SER",
    "TPO": "THR", "BMT": "THR",
    "PTR": "TYR", "TYS": "TYR",
    "CSO": "CYS", "CSD": "CYS", "CSS": "CYS", "CSX": "CYS", "CME": "CYS", "CAS": "CYS",
    "OCS": "CYS", "SMC": "CYS", "SCH": "CYS", "SEC": "CYS",
    "LLP": "LYS", "KCX": "LYS", "MLY": "LYS", "M3L": "LYS", "ALY": "LYS", "MLZ": "LYS",
    "PYL": "LYS",
    "HYP": "PRO",
    "PCA": "GLN",
    "CGU": "GLU",
    "IAS": "ASP", "PHD": "ASP",
    "MEN": "ASN",
    "NEP": "HIS", "HIC": "HIS",
    "MLE": "LEU", "NLE": "LEU",
    "ABA": "ALA", "AIB": "ALA",
    "TRQ": "TRP",
    "2MR": "ARG",
    # D-amino acids
    "DAL": "ALA", "DAR": "ARG", "DSG": "ASN", "DAS": "ASP", "DCY": "CYS", "DGN": "GLN",
    "DGL": "GLU", "DHI": "HIS", "DIL": "ILE", "DLE": "LEU", "DLY": "LYS", "MED": "MET",
    "DPN": "PHE", "DPR": "PRO", "DSN": "SER", "DTH": "THR", "DTR": "TRP", "DTY": "TYR",
    "DVA": "VAL",
    # protonation-state names written by Amber / CHARMM / GROMACS tools
    "HID": "HIS", "HIE": "HIS", "HIP": "HIS", "HSD": "HIS", "HSE": "HIS", "HSP": "HIS",
    "CYX": "CYS", "CYM": "CYS", "ASH": "ASP", "GLH": "GLU", "LYN": "LYS", "ARN": "ARG",
}  # fmt: skip
"""Modified amino acids mapped to their parent standard amino acid."""

WATER_NAMES = frozenset({"HOH", "WAT", "DOD", "H2O", "TIP", "TIP3", "TIP4", "SOL", "SPC"})
_BACKBONE_ATOMS = frozenset({"N", "CA", "C", "O", "OXT"})
_TYPE_INDEX: dict[str, int] = {
    **{name: i for i, name in enumerate(RESIDUE_TYPES)},
    **{name: RESIDUE_TYPES.index(parent) for name, parent in MODIFIED_RESIDUES.items()},
}


@dataclass(frozen=True, eq=False)
class Receptor:
    """A protein as one node per residue, in file order (N residues).

    Orientation vectors point from the residue's CA to its N, its C and the centroid of its
    side-chain heavy atoms; a vector is zero where that atom (or any side chain, as in glycine)
    is missing, which `sidechain_mask` records for the side chain.
    """

    residue_types: np.ndarray  # (N,) int64, index into RESIDUE_TYPES or OTHER_RESIDUE
    ca: np.ndarray  # (N, 3) float32, CA positions (A)
    n_rel: np.ndarray  # (N, 3) float32, N - CA
    c_rel: np.ndarray  # (N, 3) float32, C - CA
    sidechain_rel: np.ndarray  # (N, 3) float32, side-chain heavy-atom centroid - CA
    sidechain_mask: np.ndarray  # (N,) bool, whether the residue has side-chain heavy atoms
    chain_ids: np.ndarray  # (N,) str
    residue_numbers: np.ndarray  # (N,) int64
    insertion_codes: np.ndarray  # (N,) str, "" where none
    residue_names: np.ndarray  # (N,) str, as written in the file
    skipped: tuple[str, ...] = ()  # "chain:number[icode] name" of residues left out (no CA)
    path: Path | None = None  # the file it was read from (the physics stage reads its atoms again)

    def __len__(self) -> int:
        return len(self.residue_types)


# One atom as read from either format:
# (is_hetatm, atom name, altloc, residue name, chain, residue number, insertion code,
#  x, y, z, occupancy, element)
_Atom = tuple[bool, str, str, str, str, int, str, float, float, float, float, str]


def read_protein(path: str | Path) -> Receptor:
    """Read a protein from a PDB (.pdb, .ent, anything else) or mmCIF (.cif, .mmcif) file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    if path.suffix.lower() in (".cif", ".mmcif"):
        atoms = _read_mmcif_atoms(path)
    else:
        atoms = _read_pdb_atoms(path)
    if not atoms:
        raise DataError(path, "no ATOM/HETATM records")
    return _assemble(path, atoms)


def read_heavy_atoms(path: str | Path) -> np.ndarray:
    """(M, 3) positions of every non-hydrogen atom of a PDB or mmCIF file except waters (hetero
    groups, metals and cofactors included): what a pose can touch."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    atoms = _read_mmcif_atoms(path) if path.suffix.lower() in (".cif", ".mmcif") else _read_pdb_atoms(path)
    kept = [(x, y, z) for _het, _name, _alt, resname, _chain, _number, _icode, x, y, z, _occ, element in atoms
            if element not in ("H", "D") and resname not in WATER_NAMES]  # fmt: skip
    if not kept:
        raise DataError(path, "no heavy atoms")
    return np.array(kept, dtype=np.float64)


def _pdb_element(raw_name: str, element: str) -> str:
    """The element column, or (old files leave it blank) a guess from the atom-name columns."""
    if element:
        return element.upper()
    name = raw_name.strip()
    if (len(name) == 4 and name[0] == "H") or (raw_name[0].isdigit() and raw_name[1] == "H"):
        return "H"  # hydrogens named "HG21" or "1HB "
    # Element symbols are right-aligned in columns 13-14: " CA " is carbon alpha, "CA  " calcium.
    return raw_name[:2].strip().upper()


def _read_pdb_atoms(path: Path) -> list[_Atom]:
    """ATOM/HETATM records of the first model of a PDB file."""
    atoms: list[_Atom] = []
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        raise DataError(path, f"cannot read file ({error.strerror or error})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        record = line[:6]
        if record.startswith("ENDMDL"):
            break  # first model only
        if not (record.startswith("ATOM") or record.startswith("HETATM")):
            continue
        if len(line.rstrip()) < 54:
            raise DataError(path, f"line {number}: truncated {record.strip()} record (coordinates need columns 31-54)")
        try:
            x, y, z = float(line[30:38]), float(line[38:46]), float(line[46:54])
            residue_number = int(line[22:26])
        except ValueError:
            raise DataError(path, f"line {number}: cannot read residue number or coordinates") from None
        occupancy_text = line[54:60].strip()
        try:
            occupancy = float(occupancy_text) if occupancy_text else 1.0
        except ValueError:
            occupancy = 1.0
        raw_name = line[12:16]
        atoms.append((
            record.startswith("HETATM"), raw_name.strip(), line[16].strip(), line[17:20].strip(),
            line[21].strip(), residue_number, line[26].strip(), x, y, z, occupancy,
            _pdb_element(raw_name, line[76:78].strip()),
        ))  # fmt: skip
    return atoms


def _read_mmcif_atoms(path: Path) -> list[_Atom]:
    """`_atom_site` rows of the first model of an mmCIF file (author numbering and names)."""
    from Bio.PDB.MMCIF2Dict import MMCIF2Dict

    try:
        table = MMCIF2Dict(str(path))
    except Exception as error:  # Biopython raises ValueError, IndexError, ... on bad files
        raise DataError(path, f"cannot parse mmCIF ({type(error).__name__}: {error})") from None

    def column(*names: str, default: str | None = None) -> list[str]:
        for name in names:
            if f"_atom_site.{name}" in table:
                return table[f"_atom_site.{name}"]
        if default is None:
            raise DataError(path, f"mmCIF has no _atom_site.{names[0]} column")
        return [default] * len(table["_atom_site.Cartn_x"])

    if "_atom_site.Cartn_x" not in table:
        return []
    groups = column("group_PDB")
    names = column("auth_atom_id", "label_atom_id")
    altlocs = column("label_alt_id", default=".")
    residues = column("auth_comp_id", "label_comp_id")
    chains = column("auth_asym_id", "label_asym_id")
    numbers = column("auth_seq_id", "label_seq_id")
    icodes = column("pdbx_PDB_ins_code", default="?")
    xs, ys, zs = column("Cartn_x"), column("Cartn_y"), column("Cartn_z")
    occupancies = column("occupancy", default="1")
    elements = column("type_symbol", default="?")
    models = column("pdbx_PDB_model_num", default="1")

    def blank(value: str) -> str:
        return "" if value in ("?", ".") else value

    atoms: list[_Atom] = []
    for i, group in enumerate(groups):
        if models[i] != models[0]:
            continue  # first model only
        try:
            x, y, z = float(xs[i]), float(ys[i]), float(zs[i])
            number = int(numbers[i])
        except ValueError:
            raise DataError(path, f"_atom_site row {i + 1}: cannot read residue number or coordinates") from None
        try:
            occupancy = float(occupancies[i])
        except ValueError:
            occupancy = 1.0
        atoms.append((
            group == "HETATM", names[i].strip('"'), blank(altlocs[i]), residues[i], chains[i], number,
            blank(icodes[i]), x, y, z, occupancy, blank(elements[i]).upper(),
        ))  # fmt: skip
    return atoms


def _assemble(path: Path, atoms: list[_Atom]) -> Receptor:
    """Group atoms into residues and compute per-residue positions and orientation vectors."""
    # (chain, number, insertion code) -> (residue name, {atom name: (occupancy, xyz, element)})
    residues: dict[tuple[str, int, str], tuple[str, dict[str, tuple[float, tuple[float, float, float], str]]]] = {}
    for het, name, _altloc, resname, chain, number, icode, x, y, z, occupancy, element in atoms:
        if resname in WATER_NAMES or (het and resname not in _TYPE_INDEX):
            continue
        key = (chain, number, icode)
        residue = residues.get(key)
        if residue is None:
            residue = residues[key] = (resname, {})
        previous = residue[1].get(name)
        if previous is None or occupancy > previous[0]:  # alternate locations: highest occupancy
            residue[1][name] = (occupancy, (x, y, z), element)

    kept: list[tuple[tuple[str, int, str], str]] = []
    positions: list[tuple[float, float, float]] = []  # CA, N, C, side-chain centroid per residue
    sidechain_mask: list[bool] = []
    skipped: list[str] = []
    for key, (resname, residue_atoms) in residues.items():
        ca = residue_atoms.get("CA")
        if ca is None or ca[2] not in ("C", ""):  # "CA" of element Ca is calcium, not an alpha carbon
            chain, number, icode = key
            skipped.append(f"{chain}:{number}{icode} {resname}")
            continue
        sidechain = [
            xyz for atom_name, (_, xyz, element) in residue_atoms.items()
            if atom_name not in _BACKBONE_ATOMS and element not in ("H", "D")
        ]  # fmt: skip
        n, c = residue_atoms.get("N"), residue_atoms.get("C")
        kept.append((key, resname))
        positions.append(ca[1])
        positions.append(n[1] if n else ca[1])
        positions.append(c[1] if c else ca[1])
        positions.append(tuple(np.mean(sidechain, axis=0)) if sidechain else ca[1])
        sidechain_mask.append(bool(sidechain))

    if not kept:
        raise DataError(path, f"no amino-acid residue with a CA atom among {len(atoms)} atoms")
    if skipped:
        shown = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        warnings.warn(f"{path}: skipped {len(skipped)} residue(s) without a CA atom: {shown}", DataWarning, stacklevel=2)

    xyz = np.asarray(positions, dtype=np.float64).reshape(len(kept), 4, 3)
    relative = (xyz[:, 1:] - xyz[:, :1]).astype(np.float32)
    names = np.array([resname for _, resname in kept])
    return Receptor(
        residue_types=np.array([_TYPE_INDEX.get(name, OTHER_RESIDUE) for name in names], dtype=np.int64),
        ca=xyz[:, 0].astype(np.float32),
        n_rel=relative[:, 0],
        c_rel=relative[:, 1],
        sidechain_rel=relative[:, 2],
        sidechain_mask=np.array(sidechain_mask, dtype=bool),
        chain_ids=np.array([key[0] for key, _ in kept]),
        residue_numbers=np.array([key[1] for key, _ in kept], dtype=np.int64),
        insertion_codes=np.array([key[2] for key, _ in kept]),
        residue_names=names,
        skipped=tuple(skipped),
        path=Path(path),
    )
