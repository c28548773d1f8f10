"""One mechanism for every settings class: frozen dataclasses that nest, read partial dicts and
change a few settings at any depth.

A settings class subclasses `Settings` and is a frozen dataclass whose fields are plain values,
tuples or other `Settings`. Then

* `to_dict()` is the nested plain dict (for checkpoints and JSON files);
* `from_dict(values)` builds one from a *partial* nested dict over the defaults:
  `{"schedules": {"translation": {"sigma_max": 10}}}` changes that one number;
* `merged(values)` does the same over an existing instance, and `replace(**changes)` is
  `merged(changes)` (a nested dict changes part of a nested setting, an instance replaces it).

Lists become tuples where the setting is a tuple (JSON has no tuples). An unknown setting raises
`ConfigError` naming its full path, except the names a class lists in `RETIRED`: settings that
older files still carry, which are ignored.

Stored settings (a model file's, a checkpoint's) are read with `from_stored`: a setting that a
file written before it existed lacks takes the value the class lists in `LEGACY` (the behaviour
of that older code), not today's default, so that old files keep meaning what they meant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

SettingsT = TypeVar("SettingsT", bound="Settings")


class ConfigError(ValueError):
    """A settings dict that does not fit its settings class (one line, naming the setting)."""


class Settings:
    """Base of the frozen settings dataclasses (see the module docstring)."""

    RETIRED: ClassVar[frozenset[str]] = frozenset()
    """Settings no longer read: ignored when older files carry them."""
    LEGACY: ClassVar[Mapping[str, Any]] = {}
    """Settings added after files were first stored: the value a stored file that lacks one implies."""

    def to_dict(self) -> dict:
        """The settings as a nested plain dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[SettingsT], values: Mapping[str, Any]) -> SettingsT:
        """Settings from a (possibly partial) nested dict over the defaults (settings without a
        default must be in `values`)."""
        required = [field.name for field in dataclasses.fields(cls) if field.default is field.default_factory is dataclasses.MISSING]
        missing = [name for name in required if name not in values]
        if missing:
            raise ConfigError(f"{cls.__name__}: missing setting(s) {', '.join(missing)}")
        rest = {name: value for name, value in values.items() if name not in required}
        return cls(**{name: values[name] for name in required}).merged(rest)

    @classmethod
    def from_stored(cls: type[SettingsT], values: Mapping[str, Any]) -> SettingsT:
        """Settings from a stored (complete) dict: a missing setting takes its `LEGACY` value
        (at any depth) instead of the default."""
        return cls.from_dict(_with_legacy(cls, values))

    def merged(self: SettingsT, values: Mapping[str, Any], path: str = "") -> SettingsT:
        """A copy with the settings of the (possibly partial) nested dict `values` changed."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"{path or 'settings'}: expected a dict of settings, got {values!r}")
        names = {field.name for field in dataclasses.fields(self)}
        changes = {}
        for name, value in values.items():
            where = f"{path}.{name}" if path else name
            if name not in names:
                if name in self.RETIRED:
                    continue
                raise ConfigError(f"unknown setting {where!r} (known: {', '.join(sorted(names))})")
            changes[name] = _merge_value(getattr(self, name), value, where)
        try:
            return dataclasses.replace(self, **changes)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{path or type(self).__name__}: {error}") from None

    def replace(self: SettingsT, **changes: Any) -> SettingsT:
        """A copy with some settings changed; a dict given for a nested setting changes only its keys."""
        return self.merged(changes)


def _merge_value(current: Any, value: Any, path: str) -> Any:
    """The new value of one setting: nested settings merge, lists become tuples where tuples are kept."""
    if isinstance(current, Settings) and not isinstance(value, Settings):
        return current.merged(value, path)
    if isinstance(current, tuple) and isinstance(value, list):
        return tuple(value)
    return value


def _with_legacy(cls: type[Settings], values: Mapping[str, Any]) -> dict:
    """`values` with the `LEGACY` values of the settings it lacks filled in, nested settings too."""
    if not isinstance(values, Mapping):
        return values
    filled = {**{name: value for name, value in cls.LEGACY.items() if name not in values}, **values}
    for field in dataclasses.fields(cls):
        default = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
        if isinstance(default, Settings):
            filled[field.name] = _with_legacy(type(default), filled.get(field.name, {}))
    return filled
