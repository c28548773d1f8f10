"""The `disco-dock` command line. Each command parses its options and delegates to a module."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import typer

from disco_dock.docking.config import POCKET, PhysicsConfig, PocketConfig, SamplingConfig

SAMPLING, PHYSICS = SamplingConfig(), PhysicsConfig()
"""The inference defaults, shown in `predict --help`."""

app = typer.Typer(
    name="disco-dock",
    help="Molecular docking with DisCo-Diff: diffusion models with discrete latents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts are plain: "[default: ...]" must not be read as markup and vanish
)


@app.callback()
def main() -> None:
    """Molecular docking with DisCo-Diff: diffusion models with discrete latents."""


def given(**options: object) -> dict:
    """The options the user gave (those not None), to override a config's defaults with."""
    return {name: value for name, value in options.items() if value is not None}


def fail(message: str) -> None:
    """Print a one-line error and exit with status 2 (bad input), no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command()
def toy(
    out: Path = typer.Option(Path("toy-results"), help="Folder for results.json and figures."),
    steps: int = typer.Option(None, help="Training steps per model (default: the study's own)."),
    seed: int = typer.Option(0, help="Random seed."),
    eval_points: int = typer.Option(None, help="Points sampled per model for W2 (default: the study's own)."),
) -> None:
    """Reproduce the paper's 2D study: plain diffusion vs DisCo-Diff on 8 Gaussians."""
    from disco_dock.toy.study import ToyConfig, run_study

    config = ToyConfig(seed=seed).replace(**given(train_steps=steps, eval_points=eval_points))
    try:
        results = run_study(config, out)
    except ValueError as error:
        fail(str(error))
    typer.echo(results.summary())


@app.command()
def preprocess(
    data_dir: Path = typer.Option(..., help="Dataset folder (PDBbind or Astex/PoseBusters layout) or CSV manifest."),
    out: Path = typer.Option(..., help="Cache folder: one .pt file per complex, failures.csv, stats.csv, summary.json."),
    ids: Path = typer.Option(None, help="File of complex names to preprocess, one per line (a split file)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Preprocess protein-ligand complexes into training graphs; resumable (cached complexes are skipped)."""
    from disco_dock.docking.data.errors import DataError
    from disco_dock.docking.data.preprocess import FAILURES_FILE, preprocess_dataset

    try:
        summary = preprocess_dataset(data_dir, out, ids=ids, workers=workers)
    except DataError as error:
        fail(str(error))
    typer.echo(summary.text())
    if summary.failures:  # one line per failure (the first 20), status 2
        typer.echo(f"failures, with reasons: {out / FAILURES_FILE}")
        lines = [str(failure) for failure in summary.failures[:20]]
        if len(summary.failures) > 20:
            lines.append(f"... {len(summary.failures) - 20} more failures")
        for line in lines[:-1]:
            typer.echo(f"error: {line}", err=True)
        fail(lines[-1])


@app.command()
def predict(
    protein: Path = typer.Option(None, help="Protein file (PDB or mmCIF)."),
    ligand: str = typer.Option(
        None, help="Ligand: one molecule in an SDF, MOL, MOL2 or PDB file (2D is fine: its pose is not used) or a SMILES string."
    ),
    csv: Path = typer.Option(
        None, "--csv", help="Batch mode: a CSV with columns protein, ligand[, name, box, pocket_center, pocket_radius, reference_ligand]."
    ),
    out: Path = typer.Option(Path("predictions"), help="Output folder: poses.sdf, rank1.sdf, ..., results.csv, complex.pdb, run.json (batch: a folder per complex)."),
    name: str = typer.Option(None, help="Name of the complex in the outputs [default: the ligand file's stem, or 'ligand' for SMILES]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier run's files in --out (batch: dock every row again)."),
    shard: str = typer.Option(None, help="Batch mode: dock only shard i/n of the CSV's rows (0 <= i < n; e.g. a Slurm array task)."),
    samples: int = typer.Option(SAMPLING.samples, min=1, help="Poses sampled per complex."),
    steps: int = typer.Option(SAMPLING.steps, min=1, help="Reverse diffusion steps."),
    seed: int = typer.Option(SAMPLING.seed, help="Random seed; the same seed gives the same poses."),
    batch_nodes: int = typer.Option(SAMPLING.batch_nodes, min=1, help="Samples are denoised in batches of at most this many graph nodes (bounds memory)."),
    device: str = typer.Option("auto", help="'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1', ..."),
    checkpoint: Path = typer.Option(
        None, help="Model file [default: models/disco-dock-pocket.pt with a pocket, models/disco-dock-blind.pt without, in the repository]."
    ),
    box: Path = typer.Option(None, help="Pocket from a Vina box JSON file (center_x/y/z, size_x/y/z)."),
    pocket_center: str = typer.Option(None, help="Pocket centre x,y,z (A)."),
    pocket_radius: float = typer.Option(None, min=0.1, help=f"Pocket crop radius (A) [default: the model's; {PocketConfig.radius:g} for the shipped ones]."),
    reference_ligand: Path = typer.Option(None, help="Pocket around this ligand file's heavy atoms (its centroid; its bounding box + 10 A)."),
    prior_temperature: float = typer.Option(SAMPLING.prior_temperature, help="Temperature of the latent prior."),
    guidance: float = typer.Option(SAMPLING.guidance, help="Classifier-free guidance scale on the latents, 0 = none."),
    ode: bool = typer.Option(SAMPLING.ode, "--ode", help="Probability-flow ODE instead of the reverse SDE."),
    refine: bool = typer.Option(PHYSICS.refine, "--refine/--no-refine", help="Vina local optimisation of every pose."),
    refine_steps: int = typer.Option(PHYSICS.refine_steps, min=1, help="Steps of Vina's local optimisation per pose at most."),
    vina_search: bool = typer.Option(
        PHYSICS.vina_search, "--vina-search/--no-vina-search", show_default=False,
        help="Add Vina's search poses to the candidates [default: when there is a pocket].",
    ),
    vina_exhaustiveness: int = typer.Option(PHYSICS.vina_exhaustiveness, min=1, help="Vina's search effort."),
    vina_poses: int = typer.Option(PHYSICS.vina_poses, min=1, help="Vina search poses at most."),
    vina_cpu: int = typer.Option(PHYSICS.vina_cpu, min=0, help="Threads for Vina's search (0: every core)."),
    checks: bool = typer.Option(
        PHYSICS.check_validity, "--checks/--no-checks", help="PoseBusters validity checks: of the poses in rank order until one passes (the top pose is then valid when any is)."
    ),
    check_all: bool = typer.Option(PHYSICS.check_all, "--check-all", help="PoseBusters checks of every pose, not only until one passes."),
    energy_check: bool = typer.Option(
        PHYSICS.energy_check, "--energy-check/--no-energy-check", help="Include PoseBusters' internal-energy check (seconds per molecule)."
    ),
    vinardo: bool = typer.Option(PHYSICS.vinardo, "--vinardo/--no-vinardo", help="Score the poses with Vinardo as well (the consensus ranking)."),
    vinardo_poses: int = typer.Option(PHYSICS.vinardo_poses, min=1, help="Vinardo scores this many poses, those with the best Vina scores."),
    rank_by: str = typer.Option(PHYSICS.rank_by, help="auto, confidence, learned (a Vina-correcting confidence model's logit - w x Vina), consensus (Vina + Vinardo), vina or sample."),
    hydrogens: bool = typer.Option(False, "--hydrogens", help="Write poses with hydrogens (added in 3D); heavy atoms otherwise."),
) -> None:
    """Dock a ligand into a protein (or every complex of a CSV) with a trained model. Inputs are
    checked before any model loads; poses out of reach of the protein or outside the box are flagged and ranked last."""
    from disco_dock.docking.data.errors import DataError
    from disco_dock.docking.predict import Models, PocketOptions, check_inputs
    from disco_dock.docking.results import default_name

    single, batch = protein is not None and ligand is not None, csv is not None and protein is None and ligand is None
    if not (single or batch) or (single and csv is not None):
        fail("give --protein and --ligand, or --csv")
    if shard is not None and not batch:
        fail("--shard splits a --csv batch")
    try:
        sampling = SamplingConfig(samples, steps, ode, prior_temperature=prior_temperature, guidance=guidance, seed=seed, batch_nodes=batch_nodes)
        physics = PHYSICS.replace(
            refine=refine, refine_steps=refine_steps, vina_search=vina_search, vina_exhaustiveness=vina_exhaustiveness, vina_poses=vina_poses, vina_cpu=vina_cpu,
            check_validity=checks, check_all=check_all, energy_check=energy_check, vinardo=vinardo, vinardo_poses=vinardo_poses, rank_by=rank_by,
        )  # fmt: skip
    except ValueError as error:
        fail(str(error))
    seen: list[str] = []
    with warnings.catch_warnings():
        warnings.showwarning = lambda message, *args, **kwargs: seen.append(str(message)) or typer.echo(f"warning: {message}", err=True)
        try:
            pocket = PocketOptions(box, pocket_center, pocket_radius, reference_ligand)
            if batch:
                _predict_batch(csv, out, overwrite, shard, checkpoint, device, sampling, physics, hydrogens)
                return
            inputs = check_inputs(protein, ligand, pocket, out, overwrite)
            physics.for_mode(pocket.mode == POCKET)  # a search without a pocket fails here, before any model loads
            models = Models(checkpoint, _device(device))
            models.check({pocket.mode})
            _dock_one(inputs, pocket, models, sampling, physics, name or default_name(protein, ligand), hydrogens, seen)
        except (DataError, ValueError) as error:
            fail(" ".join(str(error).split()))
        except KeyboardInterrupt:
            typer.echo("interrupted: nothing written for this complex", err=True)
            raise typer.Exit(code=130) from None


def _device(name: str):
    """The torch device `name` asks for (ValueError when it is not there)."""
    from disco_dock.core.training import pick_device

    return pick_device(name)


def _dock_one(inputs, pocket, models, sampling, physics, name, hydrogens, seen) -> object:
    """Dock and write one checked complex, with progress lines on stderr; print where the poses are."""
    from disco_dock.docking.predict import predict_single
    from disco_dock.docking.writer import POSES_FILE, RESULTS_FILE

    start = time.perf_counter()
    result = predict_single(
        inputs, pocket, models, sampling, physics, name, hydrogens,
        progress=lambda line: typer.echo(f"[{time.perf_counter() - start:6.1f} s] {line}", err=True), warnings_seen=seen,
    )  # fmt: skip
    flagged = sum(bool(pose.flag) for pose in result.poses)
    note = f"; {flagged} flagged and ranked last (see the flag column)" if flagged else ""
    typer.echo(f"{len(result.poses)} poses of {result.name} written to {inputs.out / POSES_FILE} (table: {inputs.out / RESULTS_FILE}){note}")
    return result


def _predict_batch(csv, out, overwrite, shard, checkpoint, device, sampling, physics, hydrogens) -> None:
    """Batch mode of `predict`: checks, then `predict_batch`; one error line per failed complex, status 2."""
    from disco_dock.docking.batch import parse_shard, predict_batch, read_batch, row_mode, summary_names
    from disco_dock.docking.predict import Models, run_record
    from disco_dock.docking.writer import prepare_folder

    part = parse_shard(shard) if shard else None
    rows = read_batch(csv)
    prepare_folder(out, overwrite=True, outputs=())
    models = Models(checkpoint, _device(device))
    models.check({row_mode(row) for row in rows})
    results_name, failures_name = summary_names(part)
    try:
        summary = predict_batch(csv, models, sampling, out, models.device, physics, hydrogens, overwrite, part, run_record(models, sampling, physics, models.device))
    except KeyboardInterrupt:
        typer.echo(f"interrupted: what finished is in {out / results_name} and {out / failures_name}; run the same command again to resume", err=True)
        raise typer.Exit(code=130) from None
    skipped = f", {summary.skipped} done before (skipped)" if summary.skipped else ""
    typer.echo(f"{len(summary.docked)} complexes docked{skipped}, {len(summary.failures)} failed; {summary.poses} poses in {out / results_name}")
    if summary.failures:  # one line per failed complex, status 2
        for failure in summary.failures[:-1]:
            typer.echo(f"error: {failure}", err=True)
        fail(str(summary.failures[-1]))


@app.command()
def demo(
    complex_name: str = typer.Option("1ia1", "--complex", help="Which complex shipped with posebusters: 1ia1, 1of6, 1s3v or 1uou."),
    out: Path = typer.Option(Path("demo-poses"), help="Output folder (as predict's)."),
    samples: int = typer.Option(SAMPLING.samples, min=1, help="Poses sampled."),
    device: str = typer.Option("auto", help="'auto' (CUDA when present), 'cpu', 'cuda', ..."),
    overwrite: bool = typer.Option(True, "--overwrite/--no-overwrite", help="Replace the files of an earlier demo in --out."),
) -> None:
    """Dock a real complex that ships with posebusters into the pocket of its crystal ligand with the
    shipped pocket model (as `predict --reference-ligand`), and print the top pose's RMSD to the crystal pose."""
    from disco_dock.docking.data.errors import DataError
    from disco_dock.docking.predict import Models, PocketOptions, check_inputs, posebusters_files, top1_rmsd

    try:
        protein, crystal = posebusters_files(complex_name)
        pocket = PocketOptions(reference_ligand=crystal)
        inputs = check_inputs(protein, str(crystal), pocket, out, overwrite)
        models = Models(None, _device(device))
        models.check({pocket.mode})
        typer.echo(f"docking {complex_name}: {protein}\n  ligand (its crystal pose is not used, only to find the pocket): {crystal}", err=True)
        result = _dock_one(inputs, pocket, models, SAMPLING.replace(samples=samples), PHYSICS, complex_name, False, [])
    except (DataError, ValueError) as error:
        fail(" ".join(str(error).split()))
    typer.echo(f"top-1 RMSD to the crystal pose: {top1_rmsd(result, crystal):.2f} A (open {out / 'complex.pdb'} in a viewer)")


@app.command()
def decoys(
    data_dir: Path = typer.Option(..., help="Dataset folder (PDBbind or Astex layout) with crystal ligands."),
    out: Path = typer.Option(..., help="Folder of <name>.npz candidate poses and failures.csv. Run again to resume."),
    ids: Path = typer.Option(None, help="File of complex names to use, one per line (a training or validation split)."),
    exhaustiveness: int = typer.Option(None, min=1, help="Vina's search effort [default: DecoyConfig's]."),
    poses: int = typer.Option(None, min=1, help="Vina poses per complex [default: DecoyConfig's]."),
    time_cap: float = typer.Option(None, min=1, help="CPU seconds per complex before it counts as failed [default: DecoyConfig's]."),
    retry_failures: bool = typer.Option(False, "--retry-failures", help="Try again the complexes an earlier run failed on."),
    model: Path = typer.Option(None, help="Pocket model whose refined samples join each pool (as predict makes them)."),
    samples: int = typer.Option(None, min=1, help="Samples of --model per complex [default: DecoyConfig's]."),
) -> None:
    """Candidate poses of training complexes (Vina search, refined crystal pose, optionally a model's
    refined samples) labelled by RMSD, for the ranking model."""
    from disco_dock.docking.data.errors import DataError
    from disco_dock.docking.decoys import DecoyConfig, generate_decoys

    if samples is not None and model is None:
        fail("--samples needs --model (the model that docks them)")
    config = DecoyConfig().replace(**given(exhaustiveness=exhaustiveness, num_poses=poses, time_cap_s=time_cap, diffusion_samples=samples))
    try:
        summary = generate_decoys(data_dir, out, config, ids, retry_failures, model)
    except (DataError, ValueError) as error:
        fail(" ".join(str(error).split()))
    typer.echo(summary.text())


@app.command("train-ranker")
def train_ranker(
    decoys: list[Path] = typer.Option(..., help="Folder of decoys from `disco-dock decoys` (repeatable)."),
    data_dir: list[Path] = typer.Option(..., help="Dataset folder holding those complexes' proteins (repeatable)."),
    train_split: Path = typer.Option(..., help="File of training complex names, one per line."),
    val_split: Path = typer.Option(..., help="File of validation complex names, one per line."),
    out: Path = typer.Option(..., help="Run folder: pools/, ranker.ckpt, metrics.jsonl, summary.json, ranker.pt. Run again to resume."),
    into: Path = typer.Option(None, help="Model file to add the trained ranker to (predict ranks with it under --rank-by confidence)."),
    epochs: int = typer.Option(None, min=1, help="Epochs [default: RankerConfig's]."),
) -> None:
    """Train the pose ranker of the physics stage on labelled decoys; report how it ranks against Vina's score."""
    from disco_dock.docking.config import RankerConfig
    from disco_dock.docking.data.errors import DataError
    from disco_dock.docking.ranking.training import train_ranker_run

    try:
        metrics = train_ranker_run(decoys, data_dir, train_split, val_split, out, RankerConfig().replace(**given(epochs=epochs)), into)
    except (DataError, ValueError) as error:
        fail(" ".join(str(error).split()))
    typer.echo(", ".join(f"{key} {value:.3f}" for key, value in metrics.items()))


@app.command()
def train(
    stage: str = typer.Argument(..., help="score (score model + latent encoder), prior, or confidence."),
    cache: Path = typer.Option(..., help="Preprocessed cache folder (from `disco-dock preprocess`)."),
    train_split: Path = typer.Option(..., help="File of training complex names, one per line."),
    val_split: Path = typer.Option(..., help="File of validation complex names, one per line."),
    out: Path = typer.Option(..., help="Run folder: checkpoints, metrics.jsonl, config.json, model.pt. Run again to resume."),
    config: Path = typer.Option(None, help="JSON file of settings (partial, nested like DockingConfig) over the defaults."),
    mode: str = typer.Option(None, help="blind or pocket (default: the config's)."),
    epochs: int = typer.Option(None, min=1, help="Epochs of this stage (default: the config's)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N (under torchrun: each process's local GPU)."),
    init_from: Path = typer.Option(None, help="Run folder whose model.pt to start from (default: --out's, for prior/confidence)."),
    data_dir: Path = typer.Option(None, help="Dataset folder: preprocess the splits' complexes missing from --cache first."),
    decoys: list[Path] = typer.Option(None, help="confidence: learn from these `disco-dock decoys` folders' pools (repeatable)."),
) -> None:
    """Train one stage of DisCo-DiffDock: score, then prior, then confidence (torchrun for several GPUs)."""
    from disco_dock.docking.data.errors import DataError
    from disco_dock.docking.training import MODEL_FILE, RunPaths
    from disco_dock.docking.training import train as run_stage

    for folder in decoys or []:
        if not folder.is_dir():
            fail(f"--decoys {folder}: no such folder")
    if decoys and stage != "confidence":
        fail(f"--decoys is for the confidence stage, not {stage}")
    paths = RunPaths(cache, train_split, val_split, out, init_from, tuple(decoys or ()))
    try:
        run_stage(stage, paths, config, mode, epochs, device, data_dir)
    except (DataError, ValueError) as error:  # ValueError: TrainingError, a bad mode or device
        fail(str(error))
    except KeyboardInterrupt:
        typer.echo(f"interrupted: checkpoint saved in {out}; run the same command again to resume", err=True)
        raise typer.Exit(code=130) from None
    typer.echo(f"{stage} stage done: {out / MODEL_FILE}")


image_app = typer.Typer(help="The image backend: DisCo-Diff on images (default: scikit-learn's digits).", no_args_is_help=True)
app.add_typer(image_app, name="image")


def _parse_groups(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        fail(f"--groups {text!r}: expected comma-separated latent counts, e.g. 2,2")


@image_app.command("train")
def image_train(
    out: Path = typer.Option(Path("image-run"), help="Run folder: checkpoints, metrics, results.json, grids/. Run again to resume."),
    data: str = typer.Option("digits", help="'digits', a folder of images (sub-folders = classes) or a .npy/.npz file."),
    image_size: int = typer.Option(None, min=4, help="Resize images to this side length [default: the config's, 8]."),
    steps: int = typer.Option(None, min=1, help="Adam steps per diffusion model (the same for both) [default: the config's]."),
    latents: int = typer.Option(None, min=1, help="Number of discrete latents m [default: the config's]."),
    codebook: int = typer.Option(None, min=2, help="Classes per latent k [default: the config's]."),
    groups: str = typer.Option(None, help="Group-hierarchical variant: latents per decoder resolution, coarsest first, e.g. 2,2."),
    samples: int = typer.Option(None, min=2, help="Samples per model for the Frechet distance [default: the config's]."),
    disco_only: bool = typer.Option(False, "--disco-only", help="Train and evaluate DisCo-Diff only (no plain baseline)."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Train the plain EDM model and DisCo-Diff with the same budget, then compare their Frechet distances."""
    from disco_dock.image.config import ImageConfig
    from disco_dock.image.study import run_study
    from disco_dock.image.training import DISCO, PLAIN

    config = ImageConfig(seed=seed)
    try:
        parsed_groups = _parse_groups(groups) or None
        if parsed_groups and latents is None:
            latents = sum(parsed_groups)
        config = config.replace(
            data={"source": data, **given(image_size=image_size)},
            latents=given(num_latents=latents, codebook_size=codebook, groups=parsed_groups),
            training=given(steps=steps),
            evaluation=given(samples=samples),
        )
        results = run_study(config, out, (DISCO,) if disco_only else (PLAIN, DISCO))
    except ValueError as error:  # ImageDataError, RunError, bad settings
        fail(str(error))
    except KeyboardInterrupt:
        typer.echo(f"interrupted: checkpoints saved in {out}; run the same command again to resume", err=True)
        raise typer.Exit(code=130) from None
    typer.echo(results.summary())
    typer.echo(f"results: {out / 'results.json'}; grids: {out / 'grids'}")


@image_app.command("sample")
def image_sample(
    run: Path = typer.Option(..., help="Run folder written by `disco-dock image train`."),
    out: Path = typer.Option(None, help="Folder for the PNG grids [default: RUN/grids]."),
    rows: int = typer.Option(10, min=1, help="Grid rows (one class, or one shared latent, per row)."),
    columns: int = typer.Option(10, min=1, help="Grid columns."),
    label: int = typer.Option(None, "--class", help="Draw every row from this class index [default: classes 0, 1, ... by row]."),
    guidance: float = typer.Option(None, help="Classifier-free guidance scale on the latents [default: the run's]."),
    prior_temperature: float = typer.Option(None, min=1e-3, help="Temperature of the latent prior [default: the run's]."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same grids."),
) -> None:
    """Write PNG grids: random samples, samples sharing one latent, and mixed latent groups (hierarchical runs)."""
    from disco_dock.image.sampling import GridOptions, load_run, write_grids

    try:
        models = load_run(run)
        options = GridOptions(columns, rows, seed, guidance, prior_temperature, label)
        written = write_grids(models, out or run / "grids", options)
    except ValueError as error:  # RunError, bad class index
        fail(str(error))
    for path in written:
        typer.echo(str(path))


if __name__ == "__main__":
    app()
