"""A trained docking model in one file: its `DockingConfig` and the weights of its networks.

The networks are the score model, and optionally the latent encoder and pointer prior (models
with DisCo latents) and the confidence model. A file holds the config as a plain dict and one
state dict per network present, so that `DockingModel.load` rebuilds exactly what was saved.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

import disco_dock
from disco_dock.core.files import replacing
from disco_dock.docking.config import DockingConfig
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.model.confidence import ConfidenceModel
from disco_dock.docking.model.encoder import LatentEncoder
from disco_dock.docking.model.prior import PointerPrior
from disco_dock.docking.model.score import ScoreModel
from disco_dock.docking.ranking.model import PoseRanker

FORMAT = "disco-dock model 1"
"""Written into every model file, checked when loading."""
NETWORKS = ("score", "encoder", "prior", "confidence", "ranker")


def default_model_path(mode: str) -> Path:
    """Where `disco-dock predict` looks for a model of docking `mode` by default:
    `models/disco-dock-{mode}.pt` at the repository root."""
    return Path(disco_dock.__file__).resolve().parent.parent / "models" / f"disco-dock-{mode}.pt"


def build_prior(config: DockingConfig) -> PointerPrior:
    """A fresh latent prior as `config` defines it (training and loading both build it here)."""
    return PointerPrior(config.model, config.pose_schedules)


def build_confidence(config: DockingConfig) -> ConfidenceModel:
    """A fresh confidence model as `config` defines it (training and loading both build it here)."""
    return ConfidenceModel(config.model)


def build_ranker(config: DockingConfig) -> PoseRanker:
    """A fresh pose ranker as `config` defines it (training and loading both build it here)."""
    return PoseRanker(config.ranker.hidden, config.ranker.layers)


class DockingModel(nn.Module):
    """The networks of one docking model and the `DockingConfig` they were built from.

    `score` (a `ScoreModel`) is always there; `encoder` (a `LatentEncoder`) and `prior` (a
    `PointerPrior`) only when `config.model.num_latents > 0`; `confidence` (a
    `ConfidenceModel`) and `ranker` (a `PoseRanker` of physics-stage candidates) when they were
    trained. Absent networks are None.
    """

    def __init__(
        self,
        config: DockingConfig,
        score: ScoreModel,
        encoder: LatentEncoder | None = None,
        prior: PointerPrior | None = None,
        confidence: ConfidenceModel | None = None,
        ranker: PoseRanker | None = None,
    ):
        super().__init__()
        self.config = config
        self.score = score
        self.encoder = encoder
        self.prior = prior
        self.confidence = confidence
        self.ranker = ranker

    @classmethod
    def build(cls, config: DockingConfig) -> "DockingModel":
        """Freshly initialised networks for `config`: score and confidence models, encoder and prior
        with latents; no ranker (it is trained on its own and added, `ranking.training`)."""
        with_latents = config.model.num_latents > 0
        return cls(
            config,
            score=ScoreModel(config.model),
            encoder=LatentEncoder(config.model) if with_latents else None,
            prior=build_prior(config) if with_latents else None,
            confidence=build_confidence(config),
        )

    @property
    def confidence_vina_weight(self) -> float:
        """The w of a confidence model trained to correct Vina's ranking (it ranks a pool by logit -
        w x Vina's score, `candidates.learned_score`); 0 for any other model or none."""
        return self.config.training.confidence_vina_weight if self.confidence is not None else 0.0

    def networks(self) -> dict[str, nn.Module]:
        """The networks present, by name ("score", "encoder", "prior", "confidence")."""
        return {name: getattr(self, name) for name in NETWORKS if getattr(self, name) is not None}

    def save(self, path: str | Path) -> None:
        """Write the config and the weights to `path` atomically (a temporary file, then a rename)."""
        payload = {
            "format": FORMAT,
            "config": self.config.to_dict(),
            "networks": {name: network.state_dict() for name, network in self.networks().items()},
        }
        with replacing(path) as temporary:
            torch.save(payload, temporary)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> "DockingModel":
        """The model saved at `path`, on `device`, in eval mode; settings its file lacks take their
        `LEGACY` values (what they were before they existed). DataError naming the file when it
        is missing, is no model file, or does not fit this version's networks."""
        path = Path(path)
        if not path.is_file():
            raise DataError(path, "file not found")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises pickle, zip, EOF and runtime errors on bad files
            raise DataError(path, f"not a disco-dock model file ({type(error).__name__}: {error})") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise DataError(path, f"not a disco-dock model file (expected format {FORMAT!r})")
        try:
            model = cls.build(DockingConfig.from_stored(payload["config"]))
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(path, f"model settings this version cannot read ({type(error).__name__}: {error})") from None
        states = payload["networks"]
        if "ranker" in states:
            model.ranker = build_ranker(model.config)
        unexpected = set(states) - set(model.networks())
        if "score" not in states or unexpected:
            raise DataError(path, f"networks that do not fit the saved settings: {sorted(unexpected) or 'no score model'}")
        for name in NETWORKS:
            if name not in states:
                setattr(model, name, None)
        try:
            for name, network in model.networks().items():
                network.load_state_dict(states[name])
        except RuntimeError as error:
            raise DataError(path, f"weights do not fit the saved settings ({error})") from None
        return model.to(device).eval()
