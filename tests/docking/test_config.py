"""DockingConfig round trips, and models saved with settings that have since been retired."""

import pytest

from disco_dock.docking.config import DockingConfig


def test_config_round_trips_through_a_dict():
    config = DockingConfig(mode="pocket")
    assert DockingConfig.from_dict(config.to_dict()) == config


def test_retired_settings_of_older_models_are_ignored():
    values = DockingConfig().to_dict()
    values["training"]["label_tau"] = 0.01  # in the configs of the first shipped models
    assert DockingConfig.from_dict(values) == DockingConfig()


def test_unknown_settings_are_still_refused():
    values = DockingConfig().to_dict()
    values["training"]["label_temperature"] = 0.01
    with pytest.raises(TypeError):
        DockingConfig.from_dict(values)
