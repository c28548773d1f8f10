"""Diffusion geometry of a ligand pose: IGSO3 on rotations, wrapped normals on torsions,
noise schedules, and the
forward noising, score-matching loss and reverse step of the pose diffusion."""

from disco_dock.docking.diffusion.noising import (
    NoisedPose,
    noise_batch,
    reverse_sde_step,
    sample_pose_noise,
    sample_times,
    score_matching_loss,
)
from disco_dock.docking.diffusion.poses import PoseUpdate, bond_graph_index, initial_pose, ligand_centroids, move_ligands, place_ligands
from disco_dock.docking.diffusion.preconditioning import ScoreScales
from disco_dock.docking.diffusion.schedule import NoiseSchedule, PoseNoiseSchedules
from disco_dock.docking.diffusion.so3 import (
    IGSO3Tables,
    build_igso3_tables,
    cache_dir,
    igso3_angle_log_density,
    igso3_log_expansion,
    igso3_log_expansion_series,
    igso3_log_expansion_small_eps,
    igso3_score,
    igso3_score_norm_sq,
    igso3_tables,
    load_igso3_tables,
    sample_igso3,
)
from disco_dock.docking.diffusion.torus import (
    sample_wrapped_normal,
    wrap_angle,
    wrapped_normal_log_density,
    wrapped_normal_score,
    wrapped_normal_score_norm_sq,
)

__all__ = [
    "IGSO3Tables", "NoiseSchedule", "NoisedPose", "PoseNoiseSchedules", "PoseUpdate", "ScoreScales",
    "bond_graph_index", "build_igso3_tables", "cache_dir", "igso3_angle_log_density",
    "igso3_log_expansion", "igso3_log_expansion_series", "igso3_log_expansion_small_eps",
    "igso3_score", "igso3_score_norm_sq", "igso3_tables", "initial_pose", "ligand_centroids",
    "load_igso3_tables", "place_ligands", "move_ligands", "noise_batch",
    "reverse_sde_step", "sample_igso3",
    "sample_pose_noise", "sample_times", "sample_wrapped_normal", "score_matching_loss",
    "wrap_angle", "wrapped_normal_log_density", "wrapped_normal_score",
    "wrapped_normal_score_norm_sq",
]  # fmt: skip
