"""Check a workflow config against its JSON schema once, at the edge, with a one-line error."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """A config value the schema rejects; the message names the key and what was expected."""


def _key(path: Any) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _fill_defaults(instance: Any, schema: dict) -> None:
    if not isinstance(instance, dict):
        return  # a wrong type is validation's to report, by key
    for key, subschema in schema.get("properties", {}).items():
        if key not in instance and "default" in subschema:
            instance[key] = copy.deepcopy(subschema["default"])
        if key in instance:
            _fill_defaults(instance[key], subschema)


def apply_defaults(config: dict, schema_path: str | Path) -> dict:
    """Fill, in place, every key the config leaves out that the schema gives a ``default``; nested
    objects are filled key by key, so a config that changes one mirror list keeps the other defaults."""
    _fill_defaults(config, yaml.safe_load(Path(schema_path).read_text()))
    return config


def validate_config(config: dict, schema_path: str | Path) -> None:
    """Raise :class:`ConfigError` naming the first bad key, e.g. ``config key 'model.backbone': ...``."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft7Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return
    key = _key(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        raise ConfigError(f"config key '{key}': unknown key(s) {unknown}; allowed: {allowed}")
    if error.validator == "enum":
        raise ConfigError(f"config key '{key}': {error.instance!r} is not one of {error.validator_value}")
    raise ConfigError(f"config key '{key}': {error.message}")
