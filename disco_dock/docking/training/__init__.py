"""Training of DisCo-DiffDock in three stages, on one device or several (torch DDP under `torchrun`).

What `disco-dock train STAGE` runs:

* `score` (stage 1): the score model and, with latents (`num_latents` > 0), the latent encoder,
  end to end: the encoder reads the crystal complex, its straight-through Gumbel-softmax
  latents (dropped per complex with probability `latent_dropout`) condition the score model
  on the noised pose, and the denoising score-matching loss trains both. `num_latents` = 0 is
  plain DiffDock by the same code. Validation docks validation complexes with the EMA weights
  and reports the fraction of top-1 poses (the first sample) under 2 A and their median RMSD,
  with the encoder's latents of the crystal pose ("oracle-latent": no prior exists yet) and
  with null latents. Exports the EMA score model and encoder as `RUN_DIR/model.pt`.
* `prior` (stage 2): the pointer prior learns the encoder's latents from the complex with the
  ligand's conformer placed at the protein (blind) or pocket centre in a random orientation
  and with random torsions (it sees no docked pose; torsions are randomised because the
  cached conformer's were matched to the crystal pose). Targets are soft: the encoder's
  per-complex softmax over nodes, whose cross-entropy equals in expectation that of one-hot
  Gumbel samples of the encoder (their forward value does not depend on the Gumbel
  temperature), with less variance, so no labelling temperature is needed. The trunk
  starts from the score model's and is frozen for `prior_frozen_epochs`. Adds the prior to
  `model.pt`.
* `confidence` (stage 3): `confidence_samples` poses per training complex are docked with the
  score model and prior latents, cached one file per complex under `RUN_DIR/confidence_poses/`
  (a crashed run keeps them), labelled RMSD < 2 A, and a `ConfidenceModel` learns the label
  with binary cross-entropy; or, with `--decoys`, the candidate pools of `disco-dock decoys`,
  optionally a whole pool per step with a listwise term (`confidence_pool_loss`) that can rank
  by the logit minus a weight times Vina's score (`confidence_vina_weight`), and from the score
  model's trunk (`confidence_trunk_from_score`). Adds the confidence model to `model.pt`, with
  the `confidence_*` settings (how it ranks).

Pocket mode crops every complex around its crystal ligand's centroid plus N(0, jitter^2) noise
per axis (`PocketConfig`), the pocket centre of inference. Every stage trains with the loop of
`core.fit`, which checkpoints after each epoch and on KeyboardInterrupt (`RUN_DIR/<stage>.ckpt`:
weights, optimizer, EMA, epoch, batches done in the epoch, RNG states), so running the same
command again continues exactly as an uninterrupted run would. `RUN_DIR/metrics.jsonl` gets
one record per epoch (training loss parts, validation metrics); `RUN_DIR/config.json` the
settings in effect. Under `torchrun`, each process trains on its share of each epoch (gloo on
CPUs, NCCL on GPUs) and only rank 0 validates and writes files.

The modules, bottom up: `views` (how a stage sees a complex), `objectives` (what each stage
minimises), `confidence_poses` (stage 3's docked poses), `validation` (per-epoch metrics), `runs`
(the run folder and its settings), `stages` (the stages and `train`).
"""

from disco_dock.docking.training.objectives import ConfidenceObjective, PriorObjective, ScoreObjective
from disco_dock.docking.training.runs import (
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    POSES_DIR,
    STAGES,
    RunPaths,
    TrainingError,
    read_config_file,
    resolve_config,
)
from disco_dock.docking.training.stages import train

__all__ = [
    "CONFIG_FILE",
    "METRICS_FILE",
    "MODEL_FILE",
    "POSES_DIR",
    "STAGES",
    "ConfidenceObjective",
    "PriorObjective",
    "RunPaths",
    "ScoreObjective",
    "TrainingError",
    "read_config_file",
    "resolve_config",
    "train",
]
