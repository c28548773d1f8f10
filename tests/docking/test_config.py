"""DockingConfig round trips, partial nested overrides, and models saved with older settings."""

import pytest

from disco_dock.core.config import ConfigError
from disco_dock.docking.bundle import DockingModel, default_model_path
from disco_dock.docking.config import BLIND, POCKET, DockingConfig


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
