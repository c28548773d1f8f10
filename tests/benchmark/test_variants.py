"""Model variants: several disco-dock bundles as separately named methods of one run, each in its
bundle's mode, with the model file that produced every record; bad variants exit 2 in one line."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from disco_dock.benchmark.cli import main, parse_config
from disco_dock.benchmark.config import BenchmarkConfig, Variant
from disco_dock.benchmark.harness import read_records, run_benchmark
from disco_dock.benchmark.methods import method_specs
from disco_dock.docking.data.errors import DataError
from tests.support.complexes import ligand_path, make_complex, protein_path


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A one-complex PDBbind-layout dataset (posebusters' 1ia1)."""
    make_complex(tmp_path / "data", "1ia1", protein_path("1ia1"), ligand_path("1ia1"))
    return tmp_path / "data"


def test_variants_run_as_named_methods_in_their_bundles_mode(tmp_path, dataset, model_files):
    variants = (Variant("m-blind", model_files["blind"]), Variant("m-pocket", model_files["pocket"]))
    config = BenchmarkConfig(data_dir=dataset, out_dir=tmp_path / "out", methods=(), variants=variants, samples=2, steps=2, posebusters=False)
    summary = run_benchmark(config, log=lambda _: None)
    for variant, mode, information in ((variants[0], "blind", "blind"), (variants[1], "pocket", "pocket box")):
        (record,) = read_records(config.out_dir, variant.name).values()
        assert not record["error"], record["error"]
        assert len(record["rmsds"]) == 2
        sha256 = hashlib.sha256(variant.model.read_bytes()).hexdigest()
        about = summary["methods"][variant.name]
        assert record["model_sha256"] == about["model"]["sha256"] == sha256
        assert about["information_given"] == information and about["model"]["mode"] == mode
        assert about["records_by_model"] == {sha256: 1}
        assert f"| {variant.name} | {information} | 1 |" in summary["markdown"]
    assert json.loads((config.out_dir / "summary.json").read_text())["methods"]["m-pocket"]["model"]["path"] == str(model_files["pocket"])

    swapped = dataclasses.replace(config, variants=(Variant("m-blind", model_files["pocket"]),))
    with pytest.raises(DataError, match="another model file"):  # before anything runs
        run_benchmark(swapped, log=lambda _: None)


def test_records_without_a_fingerprint_are_summarised_as_before(tmp_path, dataset, model_files, capsys):
    out = tmp_path / "out"
    out.mkdir()
    record = {"complex": "1ia1", "method": "disco-dock-pocket", "runtime_s": 3.0, "error": "", "rmsds": [1.5, 4.0], "symmetry_corrected": True}
    (out / "disco-dock-pocket.jsonl").write_text(json.dumps(record) + "\n")
    argv = ["--data-dir", str(dataset), "--out", str(out), "--methods", "vina,disco-dock-pocket", "--model", str(model_files["pocket"])]
    main([*argv, "--summary-only"], "test", out)
    assert "| disco-dock-pocket | pocket box | 1 | 100.0 % | 100.0 % | 100.0 % | - | 1.50 | - | 3.00 |" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["methods"]["disco-dock-pocket"]["records_by_model"] == {"not recorded": 1}
    assert summary["methods"]["vina"] == {"information_given": "pocket box", "model": None}


def test_methods_default_to_vina_unless_variants_are_given():
    base = ["--data-dir", "data"]
    assert parse_config(base, "test", Path("out"))[0].method_names == ("vina",)
    config, _ = parse_config([*base, "--variant", "m0=a.pt", "--variant", "m2 = b.pt"], "test", Path("out"))
    assert config.methods == () and config.variants == (Variant("m0", Path("a.pt")), Variant("m2", Path("b.pt")))
    config, _ = parse_config([*base, "--methods", "vina", "--variant", "m0=a.pt"], "test", Path("out"))
    assert config.method_names == ("vina", "m0")


@pytest.mark.parametrize(
    "variants, message",
    [
        (["m0=MISSING"], "missing.pt: file not found"),
        (["m0=NOT_A_MODEL"], "not a disco-dock model file"),
        (["m0"], "expected NAME=MODEL_FILE"),
        (["vina=POCKET"], "is a built-in method's"),
        (["m 0=POCKET"], "letters, digits"),
        (["m0=POCKET", "m0=BLIND"], "given twice: m0"),
    ],
)
def test_bad_variants_exit_2_with_one_line(tmp_path, dataset, model_files, capsys, variants, message):
    (tmp_path / "not_a_model.pt").write_text("hello")
    files = {
        "MISSING": tmp_path / "missing.pt", "NOT_A_MODEL": tmp_path / "not_a_model.pt",
        "POCKET": model_files["pocket"], "BLIND": model_files["blind"],
    }  # fmt: skip
    argv = ["--data-dir", str(dataset), "--out", str(tmp_path / "out")]
    for variant in variants:
        name, _, key = variant.partition("=")
        argv += ["--variant", f"{name}={files[key]}" if key else name]
    with pytest.raises(SystemExit) as exited:
        main(argv, "test", tmp_path / "out")
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and message in error
    assert not (tmp_path / "out").exists()


def test_records_made_with_other_physics_settings_are_refused(tmp_path, dataset, model_files, capsys):
    out = tmp_path / "out"
    out.mkdir()
    record = {"complex": "1ia1", "method": "disco-dock-pocket-refined", "runtime_s": 3.0, "error": "", "rmsds": [1.5], "physics": {"refine_steps": 1}}
    (out / "disco-dock-pocket-refined.jsonl").write_text(json.dumps(record) + "\n")
    argv = ["--data-dir", str(dataset), "--out", str(out), "--methods", "disco-dock-pocket-refined", "--model", str(model_files["pocket"])]
    with pytest.raises(SystemExit) as exit_:
        main(argv, "test", out)
    assert exit_.value.code == 2 and "records from other physics settings" in capsys.readouterr().err


def test_records_from_before_a_physics_setting_existed_are_resumed(tmp_path, dataset, model_files):
    out = tmp_path / "out"
    out.mkdir()
    config = BenchmarkConfig(data_dir=dataset, out_dir=out, methods=("disco-dock-pocket-refined",), model=model_files["pocket"], posebusters=False)
    physics = method_specs(config)["disco-dock-pocket-refined"].physics.to_dict()
    del physics["energy_check"]  # added later, with the method keeping the behaviour before it
    record = {"complex": "1ia1", "method": "disco-dock-pocket-refined", "runtime_s": 3.0, "error": "", "rmsds": [1.5], "physics": physics}
    (out / "disco-dock-pocket-refined.jsonl").write_text(json.dumps(record) + "\n")
    summary = run_benchmark(config, log=lambda _: None)
    assert summary["results"]["all"]["disco-dock-pocket-refined"]["n"] == 1
    del physics["check_all"]  # added later, changing what the method does: records from before it are another method's
    (out / "disco-dock-pocket-refined.jsonl").write_text(json.dumps(record | {"physics": physics}) + "\n")
    with pytest.raises(DataError, match="other physics settings"):
        run_benchmark(config, log=lambda _: None)


def test_a_variant_whose_model_file_is_gone_is_still_summarised_from_its_records(tmp_path, dataset, capsys):
    out = tmp_path / "out"
    out.mkdir()
    record = {"complex": "1ia1", "method": "old", "runtime_s": 2.0, "error": "", "rmsds": [1.0], "symmetry_corrected": True}
    (out / "old.jsonl").write_text(json.dumps(record) + "\n")
    main(["--data-dir", str(dataset), "--out", str(out), "--variant", f"old={tmp_path / 'gone.pt'}", "--summary-only"], "test", out)
    assert "| old | ? | 1 | 100.0 % |" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # running it needs the model
        main(["--data-dir", str(dataset), "--out", str(out), "--variant", f"old={tmp_path / 'gone.pt'}"], "test", out)
