"""`sample_poses` with a tiny randomly initialised model on a batch of two complexes."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import SamplingConfig
from disco_dock.docking.data.graph import LIGAND
from disco_dock.docking.data.ligand import load_ligand
from disco_dock.docking.data.protein import read_protein
from disco_dock.docking.dock import complex_graph
from disco_dock.docking.sampling import sample_poses
from tests.support.complexes import ligand_path, protein_path


@pytest.fixture(scope="module")
def two_complexes() -> Batch:
    """1ia1 and 1s3v batched, ligands in fresh conformers."""
    graphs = [complex_graph(name, read_protein(protein_path(name)), load_ligand(ligand_path(name)), seed=0) for name in ("1ia1", "1s3v")]
    return Batch.from_data_list(graphs)


def sample_with(model: DockingModel, batch: Batch, latents: torch.Tensor, guidance: float) -> torch.Tensor:
    """`sample_poses`, 3 steps, seeded."""
    sampling = SamplingConfig(steps=3, guidance=guidance)
    return sample_poses(model.score, batch, model.config.pose_schedules, sampling, latents, generator=torch.Generator().manual_seed(1))


def test_sample_poses_on_a_batch_of_two_complexes_with_guidance(model_files, two_complexes):
    model = DockingModel.load(model_files["blind"])
    latents = model.prior.sample(two_complexes, generator=torch.Generator().manual_seed(0))
    before = two_complexes[LIGAND].pos.clone()
    plain, guided = sample_with(model, two_complexes, latents, 0.0), sample_with(model, two_complexes, latents, 1.0)
    for pos in (plain, guided):
        assert pos.shape == before.shape and pos.isfinite().all()
    assert not torch.allclose(plain, guided)
    assert torch.equal(two_complexes[LIGAND].pos, before)  # the input is left as it was
