"""`disco-dock image train`: the plain EDM model and DisCo-Diff on the same images, with the same
U-Net, steps and batch size, then the prior, then one evaluation of both.

The evaluation classifier is trained by the project on the training split; its penultimate
features give a Frechet distance (FD) between each model's samples and the training images, and
its predictions the fraction of samples of the class they were asked for. The FD between the
held-out split and the training images is the floor a perfect model would reach.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from disco_dock.image.config import ImageConfig
from disco_dock.image.data import load_images, split
from disco_dock.image.evaluate import Classifier, image_features, score_samples, train_classifier
from disco_dock.image.sampling import GridOptions, TrainedModels, sample_variant, write_grids, write_run_file
from disco_dock.image.training import DISCO, PLAIN, plain_config, train_prior, train_stage1

CLASSIFIER_FILE = "classifier.pt"


@dataclass
class SampleScores:
    """One model's samples at one sampler step count."""

    steps: int
    network_evaluations: int
    frechet_distance: float
    class_accuracy: float | None
    seconds: float


@dataclass
class VariantScores:
    """One model's evaluation: its training time and its scores at each sampler step count."""

    train_seconds: float
    samples: list[SampleScores]


@dataclass
class ImageResults:
    """What `run_study` measured; `to_json` is results.json."""

    images: dict
    """Data: source, train/test sizes, classes, image shape."""
    classifier_test_accuracy: float | None
    frechet_floor: float
    """FD of the held-out real images to the training images."""
    variants: dict[str, VariantScores]
    prior_seconds: float
    total_seconds: float
    """Wall time of the whole command (data, classifier, training, evaluation, grids)."""
    config: dict

    def to_json(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """A few lines for the terminal."""
        lines = [f"Frechet distance to the training images (held-out real images: {self.frechet_floor:.3f}); {self.total_seconds / 60:.1f} min in all"]
        for name, scores in self.variants.items():
            lines.append(f"  {name} (trained in {scores.train_seconds:.0f} s):")
            for at in scores.samples:
                accuracy = "" if at.class_accuracy is None else f", class accuracy {at.class_accuracy:.3f}"
                lines.append(f"    {at.steps:3d} Heun steps: FD {at.frechet_distance:.3f}{accuracy}")
        if PLAIN in self.variants and DISCO in self.variants:
            for plain, disco in zip(self.variants[PLAIN].samples, self.variants[DISCO].samples):
                verdict = "lower" if disco.frechet_distance < plain.frechet_distance else "not lower"
                lines.append(
                    f"{plain.steps} steps: DisCo-Diff's FD is {verdict} than the plain model's "
                    f"({disco.frechet_distance:.3f} vs {plain.frechet_distance:.3f})."
                )
        return "\n".join(lines)


def _classifier(train, run_dir: Path, config: ImageConfig) -> Classifier:
    """The evaluation classifier, trained once per run folder."""
    path = run_dir / CLASSIFIER_FILE
    if path.is_file():
        classifier = Classifier(train.channels, train.num_classes)
        classifier.load_state_dict(torch.load(path, map_location="cpu"))
        return classifier.eval()
    classifier = train_classifier(train, config.training.classifier_steps, seed=config.seed)
    torch.save(classifier.state_dict(), path)
    return classifier


def run_study(config: ImageConfig, run_dir: Path, variants: tuple[str, ...] = (PLAIN, DISCO)) -> ImageResults:
    """Train the requested variants (resuming finished stages), evaluate them, write results.json and grids."""
    started = time.time()
    run_dir = Path(run_dir)
    dataset = load_images(config.data)
    train, test = split(dataset, config.data.test_fraction, config.seed)
    write_run_file(run_dir, config, dataset.channels, dataset.class_names)

    classifier = _classifier(train, run_dir, config)
    reference = image_features(classifier, train.images)
    held_out = score_samples(classifier, test.images, test.labels, reference)

    plain = disco = prior = None
    seconds: dict[str, float] = {}
    if PLAIN in variants:
        start = time.time()
        plain = train_stage1(PLAIN, plain_config(config), train, run_dir)
        seconds[PLAIN] = time.time() - start
    prior_seconds = 0.0
    if DISCO in variants:
        start = time.time()
        disco = train_stage1(DISCO, config, train, run_dir)
        seconds[DISCO] = time.time() - start
        start = time.time()
        prior = train_prior(config, disco, train, run_dir)
        prior_seconds = time.time() - start
    models = TrainedModels(config, dataset.channels, dataset.class_names, plain, disco, prior)

    scores = {}
    for variant in variants:
        samples = []
        for steps in config.evaluation.sampler_steps:
            start = time.time()
            images, labels = sample_variant(models, variant, config.evaluation.samples, config.seed, steps)
            seconds_taken = time.time() - start
            scored = score_samples(classifier, images, labels, reference)
            samples.append(SampleScores(steps, 2 * steps - 1, scored.frechet_distance, scored.class_accuracy, seconds_taken))
        scores[variant] = VariantScores(seconds[variant], samples)

    write_grids(models, run_dir / "grids", GridOptions(seed=config.seed))
    results = ImageResults(
        images={
            "source": config.data.source,
            "train": len(train),
            "test": len(test),
            "classes": dataset.class_names,
            "shape": list(dataset.images.shape[1:]),
        },
        classifier_test_accuracy=held_out.class_accuracy,
        frechet_floor=held_out.frechet_distance,
        variants=scores,
        prior_seconds=prior_seconds,
        total_seconds=time.time() - started,
        config=config.to_dict(),
    )
    (run_dir / "results.json").write_text(json.dumps(results.to_json(), indent=2))
    return results
