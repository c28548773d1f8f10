"""The `disco-dock` command line. Each command parses its options and delegates to a module."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    name="disco-dock",
    help="Molecular docking with DisCo-Diff: diffusion models with discrete latents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Molecular docking with DisCo-Diff: diffusion models with discrete latents."""


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

    config = ToyConfig(seed=seed)
    if steps is not None:
        config = config.replace(train_steps=steps)
    if eval_points is not None:
        config = config.replace(eval_points=eval_points)
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


if __name__ == "__main__":
    app()
