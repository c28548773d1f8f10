"""DockingConfig round trips, partial nested overrides, and models saved with older settings."""

import pytest
import torch

from disco_dock.core.config import ConfigError
from disco_dock.docking.bundle import DockingModel, default_model_path
from disco_dock.docking.config import BLIND, POCKET, DockingConfig, PhysicsConfig, TrainingConfig
from disco_dock.docking.model.config import ScoreModelConfig


def test_config_round_trips_through_a_dict():
    config = DockingConfig(mode="pocket")
    assert DockingConfig.from_dict(config.to_dict()) == config


def test_a_partial_nested_override_changes_one_setting():
    config = DockingConfig.from_dict({"schedules": {"translation": {"sigma_max": 10.0}}, "model": {"graph": {"ligand_radius": 4.0}}})
    default = DockingConfig()
    assert config.schedules.translation.sigma_max == 10.0
    assert config.schedules.translation.sigma_min == default.schedules.translation.sigma_min
    assert config.model.graph.ligand_radius == 4.0 and config.model.ns == default.model.ns
    assert config.replace(training={"epochs": 3}).training == default.training.replace(epochs=3)


def test_retired_settings_of_older_models_are_ignored():
    values = DockingConfig().to_dict()
    values["training"]["label_tau"] = 0.01  # in the configs of the first shipped models
    assert DockingConfig.from_dict(values) == DockingConfig()


def test_graph_radii_of_older_models_move_into_the_graph_settings():
    values = DockingConfig().to_dict()
    del values["data"]
    graph = values["model"].pop("graph")
    values["model"].update({"ligand_radius": 4.5, "ligand_max_neighbors": graph["ligand_max_neighbors"], "receptor_radius": 12.0})
    config = DockingConfig.from_dict(values)
    assert (config.model.graph.ligand_radius, config.model.graph.receptor_radius) == (4.5, 12.0)


@pytest.mark.parametrize("mode", [BLIND, POCKET])
def test_the_shipped_models_load_with_their_settings(mode):
    assert DockingModel.load(default_model_path(mode)).config.mode == mode


def test_unknown_settings_are_refused_with_their_path():
    values = DockingConfig().to_dict()
    values["training"]["label_temperature"] = 0.01
    with pytest.raises(ConfigError, match="training.label_temperature"):
        DockingConfig.from_dict(values)


def stored_before_the_design_settings() -> dict:
    """Today's settings as a file written before `LEGACY`'s settings existed would hold them."""
    values = DockingConfig().to_dict()
    for section, settings in (("model", ScoreModelConfig), ("training", TrainingConfig)):
        for name in settings.LEGACY:
            del values[section][name]
    return values


def test_a_stored_config_without_a_new_setting_means_the_old_behaviour():
    config = DockingConfig.from_stored(stored_before_the_design_settings())
    assert config.model == ScoreModelConfig().replace(**ScoreModelConfig.LEGACY)
    assert config.training == TrainingConfig().replace(**TrainingConfig.LEGACY)


def test_a_partial_config_file_gets_todays_defaults():
    """`from_dict` (a user's partial file) is not `from_stored`: missing settings take the defaults."""
    assert DockingConfig.from_dict(stored_before_the_design_settings()) == DockingConfig()


def test_stored_settings_win_over_legacy_values():
    values = DockingConfig().to_dict()
    values["model"]["torsion_axis"] = "1o + 2e"
    assert DockingConfig.from_stored(values).model.torsion_axis == "1o + 2e"
    assert DockingConfig.from_stored(DockingConfig().to_dict()) == DockingConfig()


def test_a_model_saved_before_the_design_settings_keeps_its_networks():
    """The shipped blind model's settings lack the design settings: it loads with the old ones, and
    its weights fit the networks they build exactly (strict loading), so it docks as before."""
    model = DockingModel.load(default_model_path(BLIND))
    assert model.config.model.torsion_axis == "2e" and model.config.model.vector_norm == "node"
    assert model.config.training.loss_weights == (1.0, 1.0, 1.0) and not model.config.training.ema_warmup
    payload = torch.load(default_model_path(BLIND), map_location="cpu", weights_only=True)
    assert all(torch.equal(value, payload["networks"]["score"][key]) for key, value in model.score.state_dict().items())


def test_vina_search_is_decided_by_the_mode_unless_given():
    auto = PhysicsConfig()
    assert auto.vina_search is None
    assert auto.for_mode(has_pocket=True).vina_search is True and auto.for_mode(has_pocket=False).vina_search is False
    assert PhysicsConfig(vina_search=False).for_mode(has_pocket=True).vina_search is False
    with pytest.raises(ValueError, match="Vina's search needs a pocket"):
        PhysicsConfig(vina_search=True).for_mode(has_pocket=False)


def test_the_pool_loss_settings_are_checked():
    with pytest.raises(ValueError, match="must be >= 0"):
        TrainingConfig(confidence_pool_loss=-1.0)
    with pytest.raises(ValueError, match="needs confidence_pool_loss"):
        TrainingConfig(confidence_vina_weight=1.0)
    assert TrainingConfig(confidence_pool_loss=1.0, confidence_vina_weight=1.0).confidence_vina_weight == 1.0
