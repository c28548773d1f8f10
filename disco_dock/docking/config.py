"""Every setting of DisCo-DiffDock in one typed place: networks, noise, pocket, training, sampling.

A checkpoint stores the `DockingConfig` it was trained with; inference reads the network,
noise and pocket settings from there, and only `SamplingConfig` is chosen at prediction time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from disco_dock.core.config import Settings
from disco_dock.docking.data.config import DataConfig
from disco_dock.docking.diffusion.schedule import NoiseSchedule, PoseNoiseSchedules
from disco_dock.docking.model.config import ScoreModelConfig

BLIND, POCKET = "blind", "pocket"
LEGACY_GRAPH_SETTINGS = ("ligand_radius", "ligand_max_neighbors", "receptor_radius")
"""Model settings of files written before the graph radii moved to `ScoreModelConfig.graph`."""


@dataclass(frozen=True)
class PocketConfig(Settings):
    """Pocket docking: the receptor is cropped to the residues around a pocket centre, and the
    translation prior and noise are centred there, with a smaller translation noise scale."""

    radius: float = 20.0
    """Residues whose CA lies within this distance of the pocket centre are kept (A)."""
    translation_sigma_max: float = 5.0
    """Largest translation noise in pocket mode (A); blind mode uses the schedule's (19 A)."""
    training_jitter: float = 2.0
    """Training: the pocket centre is the crystal ligand's centroid plus N(0, jitter^2 I) per axis
    (A), so that the model never learns that the answer sits exactly at the centre."""


@dataclass(frozen=True)
class TrainingConfig(Settings):
    """Stage-1 (score model and encoder), stage-2 (prior) and confidence training."""

    RETIRED: ClassVar[frozenset[str]] = frozenset({"label_tau"})
    """In the shipped models' configs, no longer a setting: the prior trains on the encoder's soft
    node probabilities, so no labelling temperature is used (see `docking.training`)."""
    LEGACY: ClassVar[Mapping[str, Any]] = {"loss_weights": (1.0, 1.0, 1.0), "ema_warmup": False, "noise_draws": 1, "cpu_time_limit": 0.0}

    epochs: int = 20
    batch_size: int = 4
    lr: float = 1e-3
    weight_decay: float = 0.0
    ema_decay: float = 0.999
    ema_warmup: bool = True
    """The EMA's decay grows as (1 + n) / (10 + n) up to `ema_decay`, so that the exported weights
    forget the random initialisation (`core.training.EMA`)."""
    loss_weights: tuple[float, float, float] = (1.0, 3.0, 1.0)
    """Weights of the translation, rotation and torsion score-matching losses. Each is a mean
    over components, and the rotation target is normalised over its whole 3-vector, so that
    predicting nothing scores 1/3 for rotation against 1 for the others: 3 evens them."""
    noise_draws: int = 1
    """Noisy poses drawn per complex of a batch per step (the complexes' views are reused)."""
    cpu_time_limit: float = 0.0
    """A stage stops with a checkpoint after this many CPU seconds of training (0 = no limit);
    running it again continues."""
    grad_clip: float = 10.0
    gumbel_tau: float = 1.0
    """Straight-through Gumbel-softmax temperature while training encoder and score model together."""
    latent_dropout: float = 0.1
    """Probability of replacing a complex's latents by the null embedding (enables guidance)."""
    validate_every: int = 5
    """Epochs between validation dockings (fraction of top-1 poses under 2 A)."""
    validation_complexes: int = 20
    """At most this many validation complexes are docked each time (cost control on CPUs)."""
    validation_samples: int = 4
    """Poses docked per validation complex (the first one counts as top-1 before a confidence model exists)."""
    prior_epochs: int = 10
    prior_frozen_epochs: int = 5
    """The prior reuses the score model's trunk, frozen for this many epochs, then fine-tuned."""
    confidence_epochs: int = 10
    confidence_samples: int = 4
    """Poses sampled per training complex to label the confidence model's data."""
    confidence_complexes: int = 0
    """The confidence model learns from the first this many training complexes (0 = all): docked,
    or, with decoys, those of them that have decoys."""
    confidence_crystal_refined: bool = True
    """With decoys (`disco-dock train confidence --decoys`): also train on each complex's
    Vina-refined crystal pose, a near-native example for complexes whose candidates hold none
    (validation ranks the candidates only; on 181 training complexes, top-1 after 4 epochs
    21.7 % with them, 15.9 % without: `benchmarks/results/ranker/README.md`)."""
    confidence_pool_loss: float = 0.0
    """0: the confidence model learns from random batches of poses, by binary cross-entropy. Above
    0 (decoys only): each step is one complex's whole pool, and this weighs a listwise term, the
    softmax cross-entropy of the pool's ranking against its successes, added to the pool's mean
    binary cross-entropy, so that the model learns which pose of a pool is right, not only which
    complexes are easy."""
    confidence_vina_weight: float = 0.0
    """With `confidence_pool_loss`: the listwise term ranks the pool by logit - this x Vina's score
    (kcal/mol), so the model learns a correction to Vina's ranking; validation also reports that
    ranking's top-1 (`val_ranking_top1_2A`). Stored with the model, so that `--rank-by learned`
    ranks its pools the same way (`candidates.learned_score`); its confidences stay sigmoid(logit)."""
    confidence_trunk_from_score: bool = False
    """Start the confidence model's trunk from the score model's weights (`ComplexTrunk.copy_from`;
    the same construction), a pretrained start for few training complexes, instead of at random."""
    seed: int = 0

    def __post_init__(self):
        if self.noise_draws < 1:
            raise ValueError(f"noise_draws must be >= 1, not {self.noise_draws}")
        if len(self.loss_weights) != 3 or min(self.loss_weights) < 0:
            raise ValueError(f"loss_weights must be three weights >= 0 (translation, rotation, torsion), not {self.loss_weights}")
        if self.confidence_pool_loss < 0 or self.confidence_vina_weight < 0:
            raise ValueError("confidence_pool_loss and confidence_vina_weight must be >= 0")
        if self.confidence_vina_weight and not self.confidence_pool_loss:
            raise ValueError("confidence_vina_weight needs confidence_pool_loss > 0")


@dataclass(frozen=True)
class SamplingConfig(Settings):
    """Inference knobs (chosen per run, not stored in the model)."""

    samples: int = 10
    steps: int = 20
    ode: bool = False
    """Probability-flow ODE instead of the reverse SDE."""
    noise_scale: float = 1.0
    """Temperature of the reverse SDE's fresh noise (1 = the SDE itself)."""
    prior_temperature: float = 1.0
    """Temperature of the latent prior's sampling (the paper found > 1 helped with 40 samples)."""
    guidance: float = 0.0
    """Classifier-free guidance scale on the latents (0 = purely conditional)."""
    guidance_window: tuple[float, float] = (0.0, 1.0)
    """Diffusion times t within which guidance is applied."""
    seed: int = 0
    batch_nodes: int = 6000
    """Samples are denoised in batches of at most this many graph nodes (ligand atoms plus
    receptor residues; at least one sample per batch), which bounds memory whatever the number
    of samples: about 0.14 MB per node on a CPU. One random stream runs through the batches, so
    the same seed and `batch_nodes` give the same poses, and a run that fits one batch gives the
    poses it gave before batching existed."""

    def __post_init__(self):
        if min(self.samples, self.steps, self.batch_nodes) < 1:
            raise ValueError("samples, steps and batch_nodes must be at least 1")


@dataclass(frozen=True)
class RankerConfig(Settings):
    """The pose ranker (`docking.ranking`): its size and how it is trained on decoys."""

    hidden: int = 64
    layers: int = 2
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    epochs: int = 10
    steps_per_epoch: int = 300
    listwise_weight: float = 0.0
    """Weight of the per-pool softmax loss (picking the right pose of a pool) beside the per-pose
    cross-entropy; 0: per-pose only (with 105 training complexes the listwise loss lowered
    validation top-1 from 45 % to 34 %)."""
    crystal_positives: bool = False
    """Also train on each complex's refined crystal pose (with them: validation top-1 37 % instead of
    45 %, 105 training complexes: they are positives unlike any that a candidate pool holds)."""
    pools_per_step: int = 16
    """Pools in the listwise loss of each step."""
    seed: int = 0


NO_SEARCH_BOX = "Vina's search needs a pocket: give --box, --pocket-center or --reference-ligand"
RANK_BY = ("auto", "confidence", "learned", "consensus", "vina", "sample")
"""How the final candidates are ordered (see `PhysicsConfig.rank_by`)."""


@dataclass(frozen=True)
class PhysicsConfig(Settings):
    """The physics stage after sampling (chosen per run, not stored in the model): Vina's search
    as a second source of candidates, Vina's local optimisation of every candidate, PoseBusters'
    validity checks, and the order of the final poses."""

    refine: bool = True
    """Locally optimise every candidate in the receptor with Vina (kcal/mol scores for all)."""
    refine_steps: int = 1000
    """At most this many steps of Vina's local optimisation per pose (it stops earlier when it
    converges). Vina's own default, (25 + atoms) / 3, leaves the deep clashes of poorly sampled
    poses in place: on the 10 samples of 3 Astex complexes, 8 of 30 poses were PoseBusters-valid
    after it and 21 of 30 after 1,000 steps, in about the same time."""
    vina_search: bool | None = None
    """Add Vina's Monte-Carlo search poses to the candidates: True, False, or None (auto) for
    "whenever there is a pocket" (blind docking has no box to search). Auto because it decides
    accuracy today: on Astex, in one benchmark run, the refined diffusion samples alone put a few
    percent of top-1 poses under 2 A and with Vina's search poses most of them
    (`benchmarks/results/astex-pipeline`), at about twice the time."""
    vina_exhaustiveness: int = 4
    """Vina's search effort (Vina's own default is 8). Half of it, for time: on Astex (85, one run
    each, `benchmarks/results/astex-pipeline-v2` and `-exh4`) disco-dock-pocket-vina put 67.1 % of
    top-1 poses under 2 A ranked by Vina's score at 8 and 65.9 % at 4, at a median 38.0 and 29.9
    CPU s per complex, where Vina alone (exhaustiveness 8) took 24.6 s. On the 71 validation
    complexes (`benchmarks/results/validation-pipeline`, `-exh8`), at today's defaults otherwise:
    45.1 % at 8 and 42.3 % at 4, at 42.6 and 35.5 CPU s, where Vina alone put 39.4 % in 30.4 s."""
    vina_poses: int = 9
    """At most this many Vina search poses (its default)."""
    vina_cpu: int = 1
    """Threads for Vina's search, whose Monte-Carlo runs (as many as the exhaustiveness) go in
    parallel; 0: every core. One by default, as every time in the benchmarks is on one core."""
    check_validity: bool = True
    """Run PoseBusters' "dock" checks on the final poses (`candidates.validity_checked`)."""
    check_all: bool = False
    """Check every final pose; else only the poses in rank order until one passes, which decides
    the same top pose (the one ranked first among the valid poses) at a fraction of the cost: on
    Astex 1GPK the checks of all 19 poses took 2.7 CPU s of a 10.4 s physics stage."""
    energy_check: bool = False
    """Include PoseBusters' internal-energy check (the pose's UFF energy against the mean of 50
    minimised ETKDG conformers, made once per molecule: 0.7-4.2 CPU s for posebusters' four
    ligands, up to a fifth of the physics stage). Off by default, as PoseBusters' own "dock_fast"
    configuration: in 687 top-1 poses of the committed benchmark records, it failed 88 times and
    never as the only failed check. The benchmark's PoseBusters-valid column always runs it."""
    invalid_last: bool = True
    """Rank poses that fail a validity check after every valid one. The checks see the protein file
    as given, waters included, though the Vina receptor leaves waters out: on the 71 validation
    complexes (`benchmarks/rerank.py --validity`), the consensus' top pose failed a water check in
    29 of the 68 / 65 finished pools; valid-first with waters put 42.3 / 45.1 % of top-1 poses under 2 A
    (search exhaustiveness 4 / 8), without waters 40.8 / 42.3 %, the same as the consensus alone."""
    contact_distance: float = 5.0
    """A pose none of whose heavy atoms comes this close to a receptor heavy atom (A) is flagged
    and ranked last, as is one whose centroid lies outside the given box (`docking.placement`)."""
    vinardo: bool = True
    """Score the final poses with Vinardo as well (`physics.refinement.rescored`; the
    `vinardo_poses` best by Vina), for the consensus ranking; only when Vina runs. With the
    shipped pocket model the default ranking ("learned") does not use them: they are reported,
    at the cost of one more receptor preparation, maps and 0.06-0.22 CPU s per pose."""
    vinardo_poses: int = 8
    """Vinardo scores only this many poses, those with the lowest Vina scores (the others keep a
    NaN Vinardo score and rank after them, by Vina's score): Vina sets up a table over every pair
    of the ligand's atoms for each pose it scores (0.06 s for Astex 1GPK's 21 Vina atoms, 0.22 s
    for posebusters' 1s3v's 32), and the consensus' pick lies among Vina's best few: in
    the 250 decoy pools of `consensus_weight` (a median 19.5 poses), it was Vina's 1st-7th (99 %
    within the 5 best), and the consensus over the 8 best picked what it picks over all."""
    consensus_weight: float = 1.5
    """The consensus score is Vina's score + this x Vinardo's (kcal/mol). Fitted on the ranker's
    decoys (`models/training/decoys`: Vina's search poses and refined diffusion samples of 250
    training and validation complexes, never a test set; `benchmarks/consensus_weight.py`): top-1
    < 2 A of each complex's pool is 36.8 % by Vina's score, 38.0 % by Vinardo's, 38.4 / 39.2 / 39.6
    / 39.6 / 39.2 % with weights 0.5 / 1 / 1.5 / 2 / 3; in a 5-fold split by complex the weight
    fitted on four folds (1.5 in four folds, 1 in one) gives 39.2 % on the fifth against Vina's
    36.8 % (better in three folds, equal in two), where learned rankers on the pose features did
    not beat Vina's score (`benchmarks/results/ranker`). On the pipeline's own pools of the 71
    validation complexes (exhaustiveness 4, `benchmarks/results/validation-pipeline`, rerank without
    the validity order): 40.8 % against Vina's 36.6 %. On Astex (a test set, not used to choose)
    it ranked worse than Vina's score in two runs (63.5 against 67.1 %, 62.4 against 65.9 %)."""
    rank_by: str = "auto"
    """"confidence" (the pose ranker's when the model has one and Vina scored the poses, else the
    confidence model's), "learned" (a confidence model trained to correct Vina's ranking,
    `TrainingConfig.confidence_vina_weight` w: its logit minus w x Vina's score,
    `candidates.learned_score`), "consensus" (Vina + `consensus_weight` x Vinardo, lowest first;
    poses Vinardo did not score after, by Vina's score), "vina" (score, lowest first), "sample"
    (diffusion samples, then Vina's poses, in their order); "auto": "learned" when the model's
    confidence model was trained so and every pose has Vina's score (the shipped pocket model
    since 2026-12-08), else the consensus when every pose has Vina's score and some Vinardo's,
    else Vina's score when the poses have one, else the confidence. As measured on the same
    pipeline pools (`benchmarks/results/ranker/README.md`, seventh part): the learned ranking
    45.1 % top-1 < 2 A on the 71 validation complexes (consensus 40.8 %, Vina's score 36.6 %), on
    Astex 67.1 % (62.4 / 65.9 %), on the time-split test's first 164 complexes 36.6 % (36.6 /
    34.8 %). Auto prefers the scores to a pose ranker (`docking.ranking`; none is shipped now):
    on Astex's 85 pools of refined samples and Vina's search poses, in one run, Vina's score put
    65.9 % of top-1 poses under 2 A and the ranker then shipped 61.2 %
    (`benchmarks/results/astex-pipeline` as of commit feeda2f). Without Vina's scores (no physics
    stage) a model trained so ranks by its confidence: on Astex's unrefined samples 1.2 %,
    against 2.4 % in sample order (one complex)."""

    def __post_init__(self):
        if self.rank_by not in RANK_BY:
            raise ValueError(f"unknown ranking {self.rank_by!r}: use one of {', '.join(RANK_BY)}")
        if self.vina_exhaustiveness < 1 or self.vina_poses < 1:
            raise ValueError("Vina's exhaustiveness and number of poses must be at least 1")
        if self.vina_cpu < 0:
            raise ValueError(f"vina_cpu {self.vina_cpu}: give a number of threads, or 0 for every core")
        if self.vinardo_poses < 1:
            raise ValueError(f"vinardo_poses {self.vinardo_poses}: rescore at least 1 pose with Vinardo")
        if self.refine_steps < 1:
            raise ValueError(f"refine_steps {self.refine_steps}: give at least 1 step of local optimisation")

    @property
    def uses_vina(self) -> bool:
        """Whether Vina runs at all (it needs the protein file), once `for_mode` has set the search."""
        return self.refine or bool(self.vina_search)

    def for_mode(self, has_pocket: bool) -> PhysicsConfig:
        """These settings with the search decided: auto searches when there is a pocket.
        ValueError when a search is asked for without a pocket."""
        if self.vina_search and not has_pocket:
            raise ValueError(NO_SEARCH_BOX)
        return self.replace(vina_search=has_pocket if self.vina_search is None else self.vina_search)


@dataclass(frozen=True)
class DockingConfig(Settings):
    """What a trained docking model is: its networks, noise schedules, mode and training."""

    mode: str = BLIND
    """BLIND (the whole protein) or POCKET (cropped around a given pocket)."""
    model: ScoreModelConfig = field(default_factory=ScoreModelConfig)
    schedules: PoseNoiseSchedules = field(default_factory=PoseNoiseSchedules)
    pocket: PocketConfig = field(default_factory=PocketConfig)
    data: DataConfig = field(default_factory=DataConfig)
    """How the training complexes' ligand conformers were made (the graph radii are in `model.graph`)."""
    training: TrainingConfig = field(default_factory=TrainingConfig)
    ranker: RankerConfig = field(default_factory=RankerConfig)

    def __post_init__(self):
        if self.mode not in (BLIND, POCKET):
            raise ValueError(f"unknown docking mode {self.mode!r}: use {BLIND!r} or {POCKET!r}")

    @property
    def pose_schedules(self) -> PoseNoiseSchedules:
        """The noise schedules in effect: pocket mode caps the translation noise."""
        if self.mode == BLIND:
            return self.schedules
        translation = NoiseSchedule(self.schedules.translation.sigma_min, self.pocket.translation_sigma_max)
        return dataclasses.replace(self.schedules, translation=translation)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "DockingConfig":
        """Settings from a (possibly partial) nested dict over the defaults; also reads files
        written before the graph radii moved into `model.graph`."""
        model = dict(values.get("model", {}))
        legacy = {name: model.pop(name) for name in LEGACY_GRAPH_SETTINGS if name in model}
        if legacy:
            model["graph"] = {**legacy, **model.get("graph", {})}
            values = {**values, "model": model}
        return super().from_dict(values)
