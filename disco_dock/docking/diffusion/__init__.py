"""Diffusion geometry of a ligand pose: IGSO3 on rotations, wrapped normals on torsions,
noise schedules, and the forward noising, score-matching loss and reverse step of the pose
diffusion. Names are imported on first use (`core.lazy`): the schedules' settings are read
without the graph code."""

from disco_dock.core.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "noising": ("NoisedPose", "noise_batch", "reverse_sde_step", "sample_pose_noise", "sample_times", "score_matching_loss"),
    "poses": ("PoseUpdate", "bond_graph_index", "initial_pose", "ligand_centroids", "move_ligands", "place_ligands"),
    "preconditioning": ("ScoreScales",),
    "schedule": ("NoiseSchedule", "PoseNoiseSchedules"),
    "so3": (
        "IGSO3Tables", "build_igso3_tables", "cache_dir", "igso3_angle_log_density", "igso3_log_expansion",
        "igso3_log_expansion_series", "igso3_log_expansion_small_eps", "igso3_score", "igso3_score_norm_sq",
        "igso3_tables", "load_igso3_tables", "sample_igso3",
    ),
    "torus": ("sample_wrapped_normal", "wrap_angle", "wrapped_normal_log_density", "wrapped_normal_score", "wrapped_normal_score_norm_sq"),
})  # fmt: skip
