"""The configuration file `.regaudit.yaml`: option defaults and accepted findings.

Found in the current directory, or named with `--config`. Its shape is documented by
`auditor/pipeline/schemas/config.schema.json`; this loader checks the same shape itself (jsonschema is a test
dependency only) and names the file and line of anything wrong. The file is read like any input: size-capped,
with the safe YAML loader.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the decisions load only when a config file holds ignore rules: start-up stays fast
    from auditor.decisions.acceptance import IgnoreRule

CONFIG_NAME = ".regaudit.yaml"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "config.schema.json"
MAX_CONFIG_BYTES = 1024 * 1024
OPTION_KEYS = ("budget", "match", "org", "fail-on", "target", "store")
RULE_KEYS = ("key", "kind", "host", "entry", "reason", "expires")


class ConfigError(Exception):
    """The config file cannot be used; the message names the file (and line) for a person."""


@dataclass(frozen=True)
class Config:
    path: str | None = None  # None: no config file
    options: dict[str, Any] = field(default_factory=dict)  # option name (with dashes) -> value
    ignore: tuple[IgnoreRule, ...] = ()

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


def find_config(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    """The config file to use: the one named, else `.regaudit.yaml` in the current directory, else none."""
    if explicit is not None:
        return explicit
    candidate = (cwd or Path.cwd()) / CONFIG_NAME
    return candidate if candidate.is_file() else None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    import yaml  # only when there is a config file: a run without one does not pay for the YAML loader

    from parsers.common.yaml_loader import YamlBomb, load_documents, yaml_error_line

    display = str(path)
    try:
        raw = path.read_bytes()[: MAX_CONFIG_BYTES + 1]
    except OSError as exc:
        raise ConfigError(f"{display}: cannot read the config file: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{display}: config file larger than {MAX_CONFIG_BYTES} bytes")
    if b"\0" in raw:
        raise ConfigError(f"{display}: the config file is binary, not YAML")
    try:
        documents = [d for d in load_documents(raw.decode("utf-8")) if d is not None]
    except UnicodeDecodeError:
        raise ConfigError(f"{display}: the config file is not UTF-8 text") from None
    except (yaml.YAMLError, YamlBomb) as exc:
        line = yaml_error_line(exc) if isinstance(exc, yaml.YAMLError) else None
        where = f"{display}:{line}" if line else display
        raise ConfigError(f"{where}: invalid YAML in the config file: {str(exc).splitlines()[0]}") from None
    if not documents:
        return Config(path=display)
    if len(documents) > 1 or not isinstance(documents[0], dict):
        raise ConfigError(f"{display}: the config file must be one YAML mapping")
    return _config(documents[0], display)


def _config(document: dict[str, Any], display: str) -> Config:
    def where(key: object) -> str:
        line = getattr(document, "line_of", lambda _k: None)(key)
        return f"{display}:{line}" if line else display

    options: dict[str, Any] = {}
    for key, value in document.items():
        if key == "ignore":
            continue
        if key not in OPTION_KEYS:
            known = ", ".join([*OPTION_KEYS, "ignore"])
            raise ConfigError(f"{where(key)}: unknown key {key!r} in the config file (known: {known})")
        options[key] = _option(key, value, where(key))
    rules = document.get("ignore")
    if rules is None:
        rules = []
    if not isinstance(rules, list):
        raise ConfigError(f"{where('ignore')}: `ignore` must be a list of rules")
    ignore = tuple(_rule(rule, display, where("ignore")) for rule in rules)
    return Config(path=display, options=options, ignore=ignore)


def _option(key: str, value: Any, where: str) -> Any:
    if key == "budget":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: `budget` must be a whole number of at least 1")
        return value
    if key == "match":
        if value not in ("suffix", "exact"):
            raise ConfigError(f"{where}: `match` must be suffix or exact")
        return value
    if key in ("org", "fail-on"):
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{where}: `{key}` must be a string or a list of strings")
        return tuple(values) if key == "org" else ",".join(values)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: `{key}` must be a string")
    return value


def _rule(rule: Any, display: str, fallback: str) -> IgnoreRule:
    from auditor.decisions.acceptance import IgnoreRule
    from auditor.decisions.audit import FindingKind

    line = getattr(rule, "line", None)
    where = f"{display}:{line}" if line else fallback
    if not isinstance(rule, dict):
        raise ConfigError(f"{where}: an ignore rule must be a mapping with a reason")
    unknown = [k for k in rule if k not in RULE_KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} in an ignore rule (known: {', '.join(RULE_KEYS)})")
    texts = {}
    for name in ("key", "kind", "host", "entry", "reason"):
        value = rule.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: `{name}` of an ignore rule must be a string")
        texts[name] = value
    if not (texts["reason"] or "").strip():
        raise ConfigError(f"{where}: an ignore rule needs a `reason` (auditors read it)")
    if texts["key"] is None and texts["kind"] is None:
        raise ConfigError(f"{where}: an ignore rule matches by `key`, or by `kind` (with `host` or `entry`)")
    kinds = [k.value for k in FindingKind]
    if texts["kind"] is not None and texts["kind"] not in kinds:
        raise ConfigError(f"{where}: unknown finding kind {texts['kind']!r} (known: {', '.join(kinds)})")
    return IgnoreRule(reason=texts["reason"].strip(), origin=where, key=texts["key"], kind=texts["kind"],
                      host=texts["host"], entry=texts["entry"], expires=_date(rule.get("expires"), where))


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: `expires` must be a date written YYYY-MM-DD, not {str(value)[:40]!r}") from None
