"""The settings mechanism every config uses: nested partial dicts, replace at any depth, tuples, errors."""

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from disco_dock.core.config import ConfigError, Settings


@dataclass(frozen=True)
class Inner(Settings):
    RETIRED: ClassVar[frozenset[str]] = frozenset({"old"})
    low: float = 1.0
    high: float = 2.0
    steps: tuple[int, ...] = (1, 2)

    def __post_init__(self):
        if self.low > self.high:
            raise ValueError("low must not exceed high")


@dataclass(frozen=True)
class Required(Settings):
    size: int


@dataclass(frozen=True)
class Outer(Settings):
    name: str = "outer"
    inner: Inner = field(default_factory=Inner)
    required: Required = field(default_factory=lambda: Required(3))


def test_from_dict_reads_partial_nested_settings_over_the_defaults():
    config = Outer.from_dict({"inner": {"high": 5.0}})
    assert config == Outer(inner=Inner(high=5.0))
    assert Outer.from_dict(config.to_dict()) == config


def test_lists_become_tuples_where_the_setting_is_a_tuple():
    assert Outer.from_dict({"inner": {"steps": [3, 4, 5]}}).inner.steps == (3, 4, 5)


def test_replace_changes_part_of_a_nested_setting_or_all_of_it():
    config = Outer()
    assert config.replace(inner={"low": 0.5}).inner == Inner(low=0.5)
    assert config.replace(inner=Inner(high=9.0)).inner == Inner(high=9.0)
    assert config.replace(name="x").inner == config.inner


def test_settings_without_defaults_must_be_given():
    assert Required.from_dict({"size": 4}) == Required(4)
    with pytest.raises(ConfigError, match="size"):
        Required.from_dict({})


def test_retired_settings_are_ignored_and_unknown_ones_refused():
    assert Outer.from_dict({"inner": {"old": 1}}) == Outer()
    with pytest.raises(ConfigError, match="'inner.hgh'"):
        Outer.from_dict({"inner": {"hgh": 1}})
    with pytest.raises(ConfigError, match="inner"):
        Outer.from_dict({"inner": 3})


def test_a_settings_check_fails_as_a_config_error():
    with pytest.raises(ConfigError, match="low must not exceed high"):
        Outer().replace(inner={"low": 10.0})
