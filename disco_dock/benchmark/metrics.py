"""Pose metrics: PoseBusters validity of a top pose, and the summaries over complexes of the
RMSDs (`docking.rmsd`: heavy atoms, symmetry-corrected) and validity that the records hold."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem

THRESHOLDS = (2.0, 5.0)
"""RMSD thresholds (A) the summaries report."""


@dataclass(frozen=True)
class PoseVerdict:
    """PoseBusters' verdict on one pose; `valid` is None when the checks could not run."""

    valid: bool | None
    failed: list[str]
    """Names of the checks that failed."""
    error: str = ""


def posebusters_check(reference_mol: Chem.Mol, pose: np.ndarray, protein: Path) -> PoseVerdict:
    """PoseBusters' full `dock` checks of a pose (the crystal ligand's molecule at `pose`) in
    `protein` (`docking.physics.check_poses`, the internal-energy check included whatever the
    pipeline's `PhysicsConfig.energy_check`).

    Never raises: a failure to run the checks is returned as `valid=None` with the error.
    """
    from disco_dock.docking.physics import check_poses
    from disco_dock.docking.physics.ligand import with_positions

    try:
        (check,) = check_poses([with_positions(reference_mol, np.asarray(pose, dtype=np.float64))], protein)
        return PoseVerdict(check.passed, list(check.failed))
    except Exception as error:  # posebusters raises many kinds on odd molecules: record, never raise
        return PoseVerdict(None, [], f"{type(error).__name__}: {error}"[:300])


@dataclass(frozen=True)
class MethodSummary:
    """One method's numbers over a set of complexes; failures count as misses."""

    n: int
    failures: int
    top1_below: dict[str, float]
    """Fraction of complexes whose top-1 pose is under each threshold ("2.0", "5.0")."""
    best_of_n_below: dict[str, float]
    """Fraction with any pose under each threshold."""
    median_top1_rmsd: float | None
    """Median top-1 RMSD (A), a failure counting as infinite; None without complexes."""
    top1_by_vina_score_below: dict[str, float] | None
    """Fraction whose pose with the lowest Vina score is under each threshold, for methods that
    record every pose's Vina score (disco-dock's physics stage): the same pool ranked by Vina."""
    posebusters_valid_top1: float | None
    """Fraction whose top-1 pose passes every PoseBusters check (failure or unchecked = not valid); None if never checked."""
    posebusters_errors: int
    median_seconds: float | None
    """Median runtime (wall-clock seconds) per complex, failures included."""
    median_cpu_seconds: float | None
    """Median CPU seconds per complex, failures included; None unless every record has them
    (records made before 2026-12-03 keep only wall-clock time), so a busy machine's stretched
    wall-clock times can be told from the work done."""
    plain_rmsd_fallbacks: int
    """Complexes whose RMSD is not symmetry-corrected."""


def _lowest_score_rmsd(record: dict) -> float:
    """The RMSD of the record's pose with the lowest Vina score (infinite without scores)."""
    scores = [value if value is not None and math.isfinite(value) else math.inf for value in record.get("vina_scores") or []]
    if record.get("error") or not scores or min(scores) == math.inf:
        return math.inf
    return record["rmsds"][scores.index(min(scores))]


def summarize(records: list[dict]) -> MethodSummary:
    """Summary of one method's per-complex records (as the harness writes them)."""
    top1 = [r["rmsds"][0] if r.get("rmsds") and not r.get("error") else float("inf") for r in records]
    best = [min(r["rmsds"]) if r.get("rmsds") and not r.get("error") else float("inf") for r in records]
    n = len(records)

    def fraction(values: list[float], threshold: float) -> float:
        return sum(v < threshold for v in values) / n if n else float("nan")

    by_score = [_lowest_score_rmsd(r) for r in records]
    scored = any(math.isfinite(value) for value in by_score)
    checks = [r.get("posebusters") for r in records]
    checked = any(check is not None for check in checks)
    valid = sum(bool(check and check.get("valid")) for check in checks)
    return MethodSummary(
        n=n,
        failures=sum(bool(r.get("error")) for r in records),
        top1_below={str(t): fraction(top1, t) for t in THRESHOLDS},
        best_of_n_below={str(t): fraction(best, t) for t in THRESHOLDS},
        median_top1_rmsd=statistics.median(top1) if n else None,
        top1_by_vina_score_below={str(t): fraction(by_score, t) for t in THRESHOLDS} if scored else None,
        posebusters_valid_top1=valid / n if checked and n else None,
        posebusters_errors=sum(bool(check and check.get("error")) for check in checks),
        median_seconds=statistics.median(r["runtime_s"] for r in records) if n else None,
        median_cpu_seconds=statistics.median(r["cpu_s"] for r in records) if n and all("cpu_s" in r for r in records) else None,
        plain_rmsd_fallbacks=sum(r.get("symmetry_corrected") is False for r in records),
    )
