"""Shared sampling: methods that sample alike (one model, one sampling) make their diffusion samples
once per complex; each record still carries the whole time, and the same poses as alone."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from disco_dock.benchmark.config import BenchmarkConfig
from disco_dock.benchmark.harness import Spent, read_records, run_benchmark, run_method
from disco_dock.benchmark.methods import MethodOutput
from disco_dock.docking.data.discover import discover_complexes
from disco_dock.docking.data.redocking import load_complex
from tests.support.complexes import ligand_path, make_complex, protein_path

SAMPLING_S = 0.2


class FakeStaged:
    """A staged fake: `sample` sleeps and counts its calls (shared between instances through
    `counter`); `finish` returns the crystal pose moved by `shift` A."""

    def __init__(self, counter: list[int], shift: float, key: str = "model-a", fail: bool = False):
        self.counter, self.shift, self.sampling_key, self.fail = counter, shift, key, fail

    def __call__(self, complex_) -> MethodOutput:
        return self.finish(complex_, self.sample(complex_))

    def sample(self, complex_):
        self.counter.append(1)
        time.sleep(SAMPLING_S)
        if self.fail:
            raise RuntimeError("the sampler broke")
        return complex_.reference_positions

    def finish(self, complex_, samples) -> MethodOutput:
        return MethodOutput((samples + np.array([self.shift, 0.0, 0.0]))[None], [0.0])


@pytest.fixture
def data(tmp_path):
    make_complex(tmp_path / "data", "1ia1", protein_path("1ia1"), ligand_path("1ia1"))
    return tmp_path / "data"


def test_methods_that_sample_alike_sample_once_and_count_it_each(tmp_path, data):
    calls, other = [], []
    methods = {"a": FakeStaged(calls, 0.0), "b": FakeStaged(calls, 3.0), "c": FakeStaged(other, 0.0, key="model-b")}
    config = BenchmarkConfig(data_dir=data, out_dir=tmp_path / "out", posebusters=False)
    run_benchmark(config, methods, log=lambda _: None)
    assert len(calls) == 1 and len(other) == 1  # a and b share; c samples alone
    a, b, c = (read_records(config.out_dir, name)["1ia1"] for name in "abc")
    assert a["rmsds"][0] == pytest.approx(0.0, abs=1e-6) and b["rmsds"][0] == pytest.approx(3.0, abs=1e-4)
    assert a["runtime_s"] >= SAMPLING_S and b["runtime_s"] >= SAMPLING_S  # each counts the shared samples
    assert a["shared_stage"]["methods"] == ["a", "b"] and "shared_stage" not in c


def test_a_failed_shared_sampling_is_a_miss_of_every_method_sharing_it(tmp_path, data):
    calls = []
    config = BenchmarkConfig(data_dir=data, out_dir=tmp_path / "out", posebusters=False)
    run_benchmark(config, {"a": FakeStaged(calls, 0.0, fail=True), "b": FakeStaged(calls, 1.0, fail=True)}, log=lambda _: None)
    for name in "ab":
        record = json.loads((config.out_dir / f"{name}.jsonl").read_text())
        assert record["error"] == "sampling: RuntimeError: the sampler broke" and record["runtime_s"] >= SAMPLING_S
    assert len(calls) == 1


def test_the_shared_stage_counts_against_each_methods_time_cap(tmp_path, data):
    (source,) = discover_complexes(data)
    complex_ = load_complex(source, seed=0, box_padding=10.0)
    config = BenchmarkConfig(data_dir=data, out_dir=tmp_path / "out", posebusters=False, time_cap_s=5.0)
    run = run_method(FakeStaged([], 0.0), "a", complex_, config, Spent(runtime_s=6.0, cpu_s=5.5, shared_with=("a", "b")))
    assert run.record["error"] == "over the time cap of 5 CPU s" and run.record["cpu_s"] >= 5.5


def test_shared_samples_give_the_poses_each_pipeline_gives_alone(tmp_path, model_files, one_thread):
    data = tmp_path / "data"
    make_complex(data, "1ia1", protein_path("1ia1"), ligand_path("1ia1"))
    methods = ("disco-dock-pocket", "disco-dock-pocket-refined")
    settings = dict(data_dir=data, model=model_files["pocket"], samples=2, steps=2, posebusters=False)
    together = BenchmarkConfig(out_dir=tmp_path / "together", methods=methods, time_cap_s=300.0, **settings)  # samples come back from a child
    run_benchmark(together, log=lambda _: None)
    for method in methods:
        alone = BenchmarkConfig(out_dir=tmp_path / method, methods=(method,), **settings)
        run_benchmark(alone, log=lambda _: None)
        shared, single = read_records(together.out_dir, method)["1ia1"], read_records(alone.out_dir, method)["1ia1"]
        assert not shared["error"] and shared["shared_stage"]["methods"] == list(methods)
        assert shared["rmsds"] == pytest.approx(single["rmsds"], abs=1e-4)
        assert shared["vina_scores"] == pytest.approx(single["vina_scores"], abs=1e-3, nan_ok=True)
