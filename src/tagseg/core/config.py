"""Check a workflow config against its JSON schema once, at the edge, with a one-line error."""

from __future__ import annotations

import copy
import os
import difflib
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """A config value the schema rejects; the message names the key and what was expected."""


# The keys that name a folder or file of the user's: a shell's ~ and $VARIABLE are read in them as a
# shell would (a cluster's data often sits under $SCRATCH), since nothing else would expand them.
PATH_KEYS = (("data", "root"), ("data", "idw"), ("data", "voc12_test_tar"), ("downloads", "data_dir"),
             ("downloads", "voc_root"), ("folder", "path"))  # fmt: skip
_VARIABLE = re.compile(r"\$(\w+|\{[^}]*\})")


def expand_paths(config: dict, environ: dict[str, str] | None = None) -> None:
    """Expand ``~`` and ``$NAME`` / ``${NAME}`` in the path keys, in place; a variable that is not set
    is refused, naming the key (a path that silently kept ``$SCRATCH`` would be made in the work folder)."""
    environ = os.environ if environ is None else environ
    for section, key in PATH_KEYS:
        value = config.get(section, {}).get(key)
        if not isinstance(value, str):
            continue
        missing = [name.strip("{}") for name in _VARIABLE.findall(value) if name.strip("{}") not in environ]
        if missing:
            raise ConfigError(f"config key '{section}.{key}': {value} uses ${missing[0]}, which is not set in this "
                              f"environment; set it, or write the path out")  # fmt: skip
        value = _VARIABLE.sub(lambda m: environ[m.group(1).strip("{}")], value)
        if value == "~" or value.startswith("~/"):
            value = str(Path(environ.get("HOME") or Path.home())) + value[1:]
        config[section][key] = value


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


def _resolved(schema: dict, root: dict) -> dict:
    """``schema`` with its ``$ref`` (to ``#/definitions/...``) and ``allOf`` parts merged in."""
    merged = {key: value for key, value in schema.items() if key not in ("$ref", "allOf")}
    parts = [root["definitions"][schema["$ref"].rsplit("/", 1)[1]]] if "$ref" in schema else []
    for part in [*parts, *schema.get("allOf", [])]:
        part = _resolved(part, root)
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**value, **merged.get("properties", {})}
            else:
                merged.setdefault(key, value)
    return merged


_INTEGER = re.compile(r"[-+]?\d+")
_BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def _typed(text: str, types: list[str]) -> Any:
    """``text`` as the first of the schema's ``types`` it reads as, else ``text`` itself."""
    word = text.strip()
    for kind in types:
        if kind == "null" and word in ("null", "~", "None"):
            return None
        if kind == "string":
            return text
        if kind == "integer" and _INTEGER.fullmatch(word):
            return int(word)
        if kind == "number":
            if _INTEGER.fullmatch(word):
                return int(word)
            try:
                value = float(word)
            except ValueError:
                continue
            if value == value and abs(value) != float("inf"):  # NaN and infinities stay text, and are refused
                return value
        if kind == "boolean" and word.lower() in _BOOLEANS:
            return _BOOLEANS[word.lower()]
        if kind in ("array", "object") and word[:1] in "[{":
            parsed = yaml.safe_load(word)
            if isinstance(parsed, list if kind == "array" else dict):
                return parsed
    return text


def _coerce(instance: Any, schema: dict, root: dict) -> Any:
    schema = _resolved(schema, root)
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if isinstance(instance, str) and types:
        # a path or name that reads "null" is taken as null only where the schema allows null
        order = ["null", *[t for t in types if t != "null"]] if "null" in types else types
        instance = _typed(instance, order)
    if isinstance(instance, dict):
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            sub = schema.get("properties", {}).get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                instance[key] = _coerce(value, sub, root)
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        instance[:] = [_coerce(value, schema["items"], root) for value in instance]
    return instance


def coerce_types(config: dict, schema_path: str | Path) -> dict:
    """Read, in place, each string value as the number, boolean, null, list or mapping the schema asks for.

    Snakemake hands a nested ``--config`` value over as text (``seeds=[0,1]`` gives ``['0', '1']``),
    and YAML 1.1 reads ``1e-3`` as a string; both are meant as numbers. Text that does not read as
    the type the schema wants is left as it is, for validation to refuse by key.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    return _coerce(config, schema, schema)


def prepare_config(config: dict, schema_path: str | Path) -> dict:
    """What the workflow does with its config first, in place: :func:`coerce_types`,
    :func:`apply_defaults`, then :func:`validate_config`."""
    coerce_types(config, schema_path)
    apply_defaults(config, schema_path)
    validate_config(config, schema_path)
    return config


def apply_defaults(config: dict, schema_path: str | Path) -> dict:
    """Fill, in place, every key the config leaves out that the schema gives a ``default``; nested
    objects are filled key by key, so a config that changes one mirror list keeps the other defaults."""
    _fill_defaults(config, yaml.safe_load(Path(schema_path).read_text()))
    return config


def _meant(name: str, section: dict, schema: dict, top: bool) -> str:
    """``; did you mean 'iterations'?`` for a misspelt key; at the top level, also a section's key
    written without its section (``iterations: 50`` for ``train: {iterations: 50}``)."""
    close = difflib.get_close_matches(name, section.get("properties", {}), n=1, cutoff=0.75)
    if close:
        return f"; did you mean {close[0]!r}?"
    if top:
        owners = [f"{owner}.{name}" for owner, spec in schema.get("properties", {}).items()
                  if name in spec.get("properties", {})]  # fmt: skip
        if owners:
            section_name = owners[0].split(".")[0]
            return f"; did you mean {' or '.join(owners)}? (a section's key goes under it: {section_name}: {{{name}: ...}})"
    return ""


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
        hint = _meant(unknown[0], error.schema, schema, top=not error.absolute_path) if unknown else ""
        raise ConfigError(f"config key '{key}': unknown key(s) {unknown}; allowed: {allowed}{hint}")
    if error.validator == "enum":
        raise ConfigError(f"config key '{key}': {error.instance!r} is not one of {error.validator_value}")
    raise ConfigError(f"config key '{key}': {error.message}")
