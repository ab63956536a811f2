"""Docker Compose files: the images a project pulls, builds from, pushes, and the hosts its builds download from.

What is a reference (context in brackets):
- `services.X.image` (`services.X.image`); when the service also has `build`, the image is the tag the build gets
  and `docker compose push` / `pull` talk to its registry, so it is still reported, as `services.X.image (build
  tag)`; `build.tags` likewise (`services.X.build.tags`);
- the Dockerfile a `build` names (string context, or `context` + `dockerfile`, relative to the compose file; or
  `dockerfile_inline`), extracted by parsers/repo/dockerfile.py with `build.args` as its build args and `build.target`
  (default: the last stage) so only the stages BuildKit reaches are reported (`services.X.build FROM` ...);
  a missing Dockerfile is an InputError naming it; a remote (git/URL) context is Unresolved: not read offline;
- `build.additional_contexts` values `docker-image://REF` and `build.cache_from` / `cache_to` registry refs;
- `models.X.model` (Docker Model Runner pulls models from a registry as OCI artifacts).
`extends` (same file or `file:`) and `include` (string or `{path: ...}`, relative paths) are followed, with cycle
guards and a bound on depth and file count; YAML anchors and merge keys are resolved by the loader.
Interpolation follows the compose specification (`${VAR}`, `$VAR`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?err}`,
`${VAR?err}`, `${VAR:+alt}`, `$$`). Values come, highest first, from `--set VAR=VALUE` (ctx.variables), the
`--env-file` files (ctx.env_files, the last one winning), and the `.env` beside the compose file (for an included
file: its `env_file`, or the `.env` beside it). Compose itself skips that `.env` when `--env-file` is given;
regaudit keeps it as the lowest layer because one run reads many projects. The process environment is never
read, so results do not depend on who runs regaudit: a name set nowhere makes the reference Unresolved.
`--set` values also reach a built Dockerfile's ARGs that `build.args` does not set (as `--build-arg` would).
Duplicates: a Dockerfile (or included compose file) that a directory walk also finds is reported again by its own
parser, with the same file and line but parser `dockerfile` and its own defaults; both are kept on purpose, since
the compose build args may resolve other names than the defaults do.
Invalid YAML: the error and its line are reported; when no document could be loaded at all, `image:` lines are
still read one by one (context `image (line scan after YAML error)`). An alias bomb is refused outright.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from auditor.core.model import Evidence, InputError, Source, Unresolved
from auditor.core.reference import InvalidReference, parse_reference
from parsers.common.dotenv import parse_dotenv
from parsers.common.inputs import MAX_CONFIG_BYTES, InputFile, ParseContext, decode_text, read_config_text
from parsers.common.interpolate import interpolate
from parsers.common.yaml_loader import YamlBomb, load_documents, yaml_error_line, yaml_error_text
from parsers.repo.dockerfile import LAST_STAGE, extract_dockerfile

NAME = "compose"

# Renovate's default pattern `(^|/)(?:docker-)?compose[^/]*\.ya?ml$`, plus `NAME.docker-compose.yml`.
_NAME_RE = re.compile(
    r"^(?:docker-)?compose(?:[._-][^/]*)?\.ya?ml$|^.+[._-]docker-compose(?:[._-][^/]*)?\.ya?ml$", re.IGNORECASE
)
_YAML_SUFFIXES = (".yml", ".yaml")
# By content, for any other YAML name (`stack.yml`, `integration/compose/db.yml`): every top-level key is one of
# compose's, `services:` opens a mapping, and some service has `image:` or `build:`.
_TOP_KEY_RE = re.compile(rb"^([A-Za-z_][\w.-]*)[ \t]*:", re.MULTILINE)
_SERVICES_MAPPING_RE = re.compile(
    rb"^services[ \t]*:[ \t]*(?:#[^\n]*)?\r?\n(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]+[\w\"'.-]", re.MULTILINE)
_SERVICE_FIELD_RE = re.compile(rb"^[ \t]+(?:image|build)[ \t]*:", re.MULTILINE)
MAX_DEPTH = 10  # nested include / extends levels
MAX_FILES = 64  # compose, env and Dockerfiles read for one input
_REMOTE_CONTEXT_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/)", re.IGNORECASE)
_LINE_SCAN_RE = re.compile(r"^\s*(?:-\s+)?image\s*:\s*(?P<q>[\"']?)(?P<ref>[^\"'\s#]+)(?P=q)\s*(?:#.*)?$")
_BOMB_LINE_RE = re.compile(r"line (\d+)")
# Compose's own YAML tags (`!reset`, `!override`) adjust merging; a safe loader does not know them, and for finding
# images the plain value is what matters, so the tag is blanked out (same length: lines and columns stay).
_COMPOSE_TAG_RE = re.compile(r"(?<=\s)!(?:reset|override)(?=\s|$)", re.MULTILINE)
_TOP_LEVEL_KEYS = frozenset({"version", "name", "services", "networks", "volumes", "configs", "secrets", "include",
                             "models"})


def detect(inp: InputFile) -> bool:
    if _NAME_RE.match(inp.name):
        return True
    return inp.name.lower().endswith(_YAML_SUFFIXES) and detect_content(inp)


def detect_content(inp: InputFile) -> bool:
    """A compose file under any name: compose's top-level keys only, and services with an image or a build."""
    head = inp.head
    if inp.looks_binary or not _SERVICES_MAPPING_RE.search(head) or not _SERVICE_FIELD_RE.search(head):
        return False
    keys = {match.group(1).decode() for match in _TOP_KEY_RE.finditer(head)}
    return all(key in _TOP_LEVEL_KEYS or key.startswith("x-") for key in keys)


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, problems = read_config_text(inp, NAME)
    yield from problems
    if text is None:
        return
    base_dir = inp.path.parent if inp.display != "<stdin>" else Path.cwd()
    display_dir = os.path.dirname(inp.display) if inp.display != "<stdin>" else ""
    project = _Project(ctx)
    here = _Place(path=inp.path.resolve() if inp.display != "<stdin>" else base_dir / "<stdin>",
                  dir=base_dir, display=inp.display, display_dir=display_dir)
    env = project.environment(here, None)
    yield from project.errors_out()
    yield from project.compose_text(text, here, env, stack=(here.path,), note="")
    yield from project.errors_out()


@dataclass(frozen=True)
class _Place:
    """A file on disk and how messages name it; relative paths in it resolve against `dir`."""

    path: Path
    dir: Path
    display: str
    display_dir: str

    def child(self, relative: str) -> _Place:
        path = Path(relative)
        target = path if path.is_absolute() else self.dir / path
        shown = relative if path.is_absolute() else os.path.normpath(os.path.join(self.display_dir, relative))
        return _Place(path=target, dir=target.parent, display=shown, display_dir=os.path.dirname(shown))

    def source(self, line: int | None) -> Source:
        return Source(path=self.display, line=line, parser=NAME)


@dataclass
class _Env:
    layers: list[dict[str, str]]

    def lookup(self, name: str) -> str | None:
        for layer in self.layers:
            if name in layer:
                return layer[name]
        return None


@dataclass
class _Layer:
    """One service definition in one file: extends chains produce several, most basic first."""

    service: dict[str, Any]
    place: _Place
    env: _Env


@dataclass
class _Project:
    ctx: ParseContext
    files_read: int = 0
    pending: list[InputError] = field(default_factory=list)
    env_cache: dict[Path, dict[str, str]] = field(default_factory=dict)

    def errors_out(self) -> Iterator[InputError]:
        pending, self.pending = self.pending, []
        yield from pending

    def error(self, place: _Place, line: int | None, message: str) -> None:
        self.pending.append(InputError(message, place.source(line)))

    # -- files and variables --------------------------------------------------------------------------------

    def read(self, place: _Place, what: str, at: _Place, line: int | None) -> str | None:
        if self.files_read >= MAX_FILES:
            self.error(at, line, f"{what} {place.display}: over {MAX_FILES} files read for one input; not read")
            return None
        self.files_read += 1
        try:
            if not place.path.is_file():
                self.error(at, line, f"{what} {place.display} not found")
                return None
            with open(place.path, "rb") as stream:
                data = stream.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            self.error(at, line, f"cannot read {what} {place.display}: {exc.strerror or exc}")
            return None
        if len(data) > MAX_CONFIG_BYTES:
            self.error(at, line, f"{what} {place.display} is over {MAX_CONFIG_BYTES} bytes; not read")
            return None
        if b"\x00" in data[:8192]:
            self.error(at, line, f"{what} {place.display} is binary (NUL bytes); not read")
            return None
        text, had_errors = decode_text(data)
        if had_errors:
            bad = text[: text.index("\ufffd")].count("\n") + 1
            self.pending.append(InputError("undecodable bytes (not UTF-8) replaced with U+FFFD",
                                           place.source(bad)))
        return text

    def env_file(self, place: _Place, at: _Place, line: int | None, required: bool) -> dict[str, str]:
        key = place.path.resolve() if place.path.exists() else place.path
        if key in self.env_cache:
            return self.env_cache[key]
        values: dict[str, str] = {}
        if required or place.path.is_file():
            text = self.read(place, "env file", at, line)
            if text is not None:
                parsed = parse_dotenv(text)
                values = parsed.values
                for number, message in parsed.problems:
                    self.pending.append(InputError(message, place.source(number)))
        self.env_cache[key] = values
        return values

    def environment(self, here: _Place, own_env_files: list[_Place] | None) -> _Env:
        given: dict[str, str] = {}
        for path in self.ctx.env_files:
            shown = str(path)
            place = _Place(path=path, dir=path.parent, display=shown, display_dir=os.path.dirname(shown))
            given.update(self.env_file(place, place, None, required=True))
        local: dict[str, str] = {}
        if own_env_files:
            for place in own_env_files:
                local.update(self.env_file(place, place, None, required=True))
        else:
            local = self.env_file(here.child(".env"), here, None, required=False)
        return _Env([dict(self.ctx.variables), given, local])

    # -- interpolation ---------------------------------------------------------------------------------------

    def value(self, raw: Any, env: _Env) -> tuple[str | None, str]:
        """(interpolated text, "") or (None, why not)."""
        text = _scalar_text(raw)
        if text is None:
            return None, "not a string"
        result = interpolate(text, env.lookup, dialect="compose")
        if result.errors:
            return None, "unresolved variable: " + "; ".join(result.errors)
        if result.missing:
            names = ", ".join(dict.fromkeys(result.missing))
            return None, (f"unresolved variable {names} (not set by --set, an --env-file or the .env file; "
                          "the process environment is not read)")
        return result.text, ""

    def image(self, raw: Any, env: _Env, place: _Place, line: int | None, context: str) -> Iterator[Evidence]:
        if raw is None or raw == "":
            yield InputError(f"{context} is empty", place.source(line))
            return
        text, why = self.value(raw, env)
        shown = _scalar_text(raw) or repr(raw)
        if text is None:
            yield Unresolved(shown, why, place.source(line), context)
            return
        try:
            ref = parse_reference(text)
        except InvalidReference as exc:
            yield Unresolved(text, f"invalid reference: {exc.reason}", place.source(line), context)
            return
        yield replace(ref, original=text, source=place.source(line), context=context)

    # -- compose files ---------------------------------------------------------------------------------------

    def compose_text(self, text: str, here: _Place, env: _Env, stack: tuple[Path, ...], note: str
                     ) -> Iterator[Evidence]:
        documents: list[Any] = []
        text = _COMPOSE_TAG_RE.sub(lambda m: " " * len(m.group(0)), text)
        try:
            for document in load_documents(text):
                documents.append(document)
        except YamlBomb as exc:
            match = _BOMB_LINE_RE.search(str(exc))
            self.error(here, int(match.group(1)) if match else None, str(exc))
        except yaml.YAMLError as exc:
            self.error(here, yaml_error_line(exc), yaml_error_text(exc))
            if not documents:
                yield from self.errors_out()
                yield from self.line_scan(text, here, env)
        yield from self.errors_out()
        for number, document in enumerate(documents, start=1):
            if document is None:
                continue
            if not isinstance(document, dict):
                self.error(here, getattr(document, "line", None),
                           f"YAML document {number}: top level is not a mapping; skipped")
                continue
            yield from self.compose_document(document, here, env, stack, note)
            yield from self.errors_out()

    def line_scan(self, text: str, here: _Place, env: _Env) -> Iterator[Evidence]:
        for number, line in enumerate(text.split("\n"), start=1):
            match = _LINE_SCAN_RE.match(line)
            if match:
                yield from self.image(match.group("ref"), env, here, number, "image (line scan after YAML error)")

    def compose_document(self, document: dict[str, Any], here: _Place, env: _Env, stack: tuple[Path, ...],
                         note: str) -> Iterator[Evidence]:
        suffix = f" ({note})" if note else ""
        yield from self.includes(document.get("include"), document, here, env, stack)
        services = document.get("services")
        if services is None and _looks_like_version_1(document):
            services, suffix = document, f"{suffix} (version 1 format)" if suffix else " (version 1 format)"
        if services is not None and not isinstance(services, dict):
            self.error(here, _line_of(document, "services"), "services is not a mapping; skipped")
            services = None
        for name, service in (services or {}).items():
            if not isinstance(service, dict):
                if service is not None:
                    self.error(here, _line_of(services, name), f"services.{name} is not a mapping; skipped")
                continue
            layers = self.extends_chain(str(name), service, services, here, env, stack, depth=0)
            yield from self.service(str(name), layers, suffix)
            yield from self.errors_out()
        models = document.get("models")
        if isinstance(models, dict):
            for name, model in models.items():
                if isinstance(model, dict) and "model" in model:
                    yield from self.image(model["model"], env, here, _line_of(model, "model"),
                                          f"models.{name}.model{suffix}")

    def includes(self, value: Any, document: dict[str, Any], here: _Place, env: _Env, stack: tuple[Path, ...]
                 ) -> Iterator[Evidence]:
        if value is None:
            return
        if not isinstance(value, list):
            self.error(here, _line_of(document, "include"), "include is not a list; skipped")
            return
        for entry in value:
            paths: list[Any]
            env_files: list[Any] = []
            line = getattr(entry, "line", _line_of(document, "include"))
            if isinstance(entry, dict):
                raw_paths = entry.get("path")
                paths = raw_paths if isinstance(raw_paths, list) else [raw_paths]
                raw_env = entry.get("env_file")
                env_files = raw_env if isinstance(raw_env, list) else ([raw_env] if raw_env is not None else [])
                line = entry.line
            else:
                paths = [entry]
            for raw in paths:
                text_path, why = self.value(raw, env)
                if text_path is None:
                    self.pending.append(InputError(f"include path {_scalar_text(raw)!r}: {why}; not followed",
                                                   here.source(getattr(raw, "line", line))))
                    continue
                target = here.child(text_path)
                if len(stack) >= MAX_DEPTH:
                    self.error(here, line, f"include {target.display}: nested over {MAX_DEPTH} levels; not followed")
                    continue
                resolved = target.path.resolve()
                if resolved in stack:
                    self.error(here, line, f"include cycle: {target.display} is already being read; not followed")
                    continue
                text = self.read(target, "included compose file", here, line)
                if text is None:
                    continue
                own_env = []
                for raw_env_file in env_files:
                    env_path, _ = self.value(raw_env_file, env)
                    if env_path:
                        own_env.append(here.child(env_path))
                included_env = self.environment(target, own_env or None)
                yield from self.compose_text(text, target, included_env, (*stack, resolved),
                                             note=f"included from {here.display}")

    def extends_chain(self, name: str, service: dict[str, Any], services: dict[str, Any], here: _Place,
                      env: _Env, stack: tuple[Path, ...], depth: int,
                      seen: frozenset[tuple[Path, str]] = frozenset()) -> list[_Layer]:
        own = _Layer(service, here, env)
        spec = service.get("extends")
        if spec is None:
            return [own]
        line = _line_of(service, "extends")
        if isinstance(spec, str):
            base_name, base_file = spec, None
        elif isinstance(spec, dict) and isinstance(spec.get("service"), str):
            base_name, base_file = spec["service"], spec.get("file")
        else:
            self.error(here, line, f"services.{name}.extends needs a service name; ignored")
            return [own]
        key = (here.path, name)
        if key in seen or depth >= MAX_DEPTH:
            self.error(here, line, f"services.{name}.extends: cycle or over {MAX_DEPTH} levels; not followed")
            return [own]
        seen = seen | {key}
        base_place, base_services, base_env = here, services, env
        if base_file is not None:
            file_text, why = self.value(base_file, env)
            if file_text is None:
                self.error(here, line, f"services.{name}.extends.file: {why}; not followed")
                return [own]
            base_place = here.child(file_text)
            text = self.read(base_place, "extended compose file", here, line)
            if text is None:
                return [own]
            base_services = self.services_of(text, base_place)
            if base_services is None:
                return [own]
        base = base_services.get(base_name)
        if not isinstance(base, dict):
            self.error(here, line, f"services.{name}.extends: service {base_name!r} not found in "
                                   f"{base_place.display}")
            return [own]
        chain = self.extends_chain(base_name, base, base_services, base_place, base_env, stack, depth + 1, seen)
        return [*chain, own]

    def services_of(self, text: str, place: _Place) -> dict[str, Any] | None:
        try:
            documents = list(load_documents(text))
        except YamlBomb as exc:
            self.error(place, None, str(exc))
            return None
        except yaml.YAMLError as exc:
            self.error(place, yaml_error_line(exc), yaml_error_text(exc))
            return None
        services: dict[str, Any] = {}
        for document in documents:
            if isinstance(document, dict) and isinstance(document.get("services"), dict):
                services.update(document["services"])
        return services

    # -- one service -----------------------------------------------------------------------------------------

    def service(self, name: str, layers: list[_Layer], suffix: str) -> Iterator[Evidence]:
        image_layer = next((layer for layer in reversed(layers) if "image" in layer.service), None)
        build_layers = [layer for layer in layers if layer.service.get("build") is not None]
        if image_layer is not None:
            context = f"services.{name}.image" + (" (build tag)" if build_layers else "") + suffix
            yield from self.image(image_layer.service["image"], image_layer.env, image_layer.place,
                                  _line_of(image_layer.service, "image"), context)
        if build_layers:
            yield from self.build(name, build_layers, suffix)

    def build(self, name: str, layers: list[_Layer], suffix: str) -> Iterator[Evidence]:
        prefix = f"services.{name}.build"
        settings: dict[str, tuple[Any, _Layer, int | None]] = {}
        args: dict[str, str] = {}
        for layer in layers:
            build = layer.service["build"]
            build_line = _line_of(layer.service, "build")
            if isinstance(build, str):
                settings["context"] = (build, layer, build_line)
                continue
            if not isinstance(build, dict):
                self.error(layer.place, build_line, f"{prefix} is neither a path nor a mapping; skipped")
                continue
            for key in ("context", "dockerfile", "dockerfile_inline", "target"):
                if key in build:
                    settings[key] = (build[key], layer, _line_of(build, key))
            args.update(self.build_args(build.get("args"), layer, prefix))
            yield from self.build_images(build, layer, prefix, suffix)
        context_raw, context_layer, context_line = settings.get("context", (".", layers[-1], None))
        target = LAST_STAGE
        if "target" in settings:
            raw_target, target_layer, target_line = settings["target"]
            target_text, why = self.value(raw_target, target_layer.env)
            if target_text is None:
                self.error(target_layer.place, target_line, f"{prefix}.target: {why}; every stage is reported")
                target = None
            else:
                target = target_text
        named = self.named_contexts(layers)
        fallback = dict(self.ctx.variables)
        if "dockerfile_inline" in settings:
            raw, layer, line = settings["dockerfile_inline"]
            text = _scalar_text(raw)
            if text is None:
                self.error(layer.place, line, f"{prefix}.dockerfile_inline is not a string; skipped")
                return
            offset = (line or 1) - (0 if _is_block_scalar(raw) else 1)
            yield from extract_dockerfile(
                text, layer.place.display, args, target, NAME, prefix + suffix, offset, fallback, named)
            return
        context_text, why = self.value(context_raw, context_layer.env)
        if context_text is None:
            yield Unresolved(_scalar_text(context_raw) or "", why, context_layer.place.source(context_line),
                             f"{prefix}.context{suffix}")
            return
        if _REMOTE_CONTEXT_RE.match(context_text):
            yield Unresolved(context_text, "remote build context: its Dockerfile is not read (no network)",
                             context_layer.place.source(context_line), f"{prefix}.context{suffix}")
            return
        context_place = context_layer.place.child(context_text)
        dockerfile_name = "Dockerfile"
        dockerfile_layer, dockerfile_line = context_layer, context_line
        if "dockerfile" in settings:
            raw, dockerfile_layer, dockerfile_line = settings["dockerfile"]
            named_file, why = self.value(raw, dockerfile_layer.env)
            if named_file is None:
                yield Unresolved(_scalar_text(raw) or "", why, dockerfile_layer.place.source(dockerfile_line),
                                 f"{prefix}.dockerfile{suffix}")
                return
            dockerfile_name = named_file
        context_dir = _Place(path=context_place.path, dir=context_place.path, display=context_place.display,
                             display_dir=context_place.display)
        place = context_dir.child(dockerfile_name)
        if "dockerfile" not in settings and not place.path.exists():
            # podman-compose and nerdctl compose build a Containerfile when the context has no Dockerfile.
            containerfile = context_dir.child("Containerfile")
            place = containerfile if containerfile.path.is_file() else place
        text = self.read(place, "Dockerfile", dockerfile_layer.place, dockerfile_line)
        yield from self.errors_out()
        if text is None:
            return
        yield from extract_dockerfile(
            text, place.display, args, target, NAME, prefix + suffix, 0, fallback, named)

    def build_args(self, raw: Any, layer: _Layer, prefix: str) -> dict[str, str]:
        pairs: list[tuple[str, Any, int | None]] = []
        if isinstance(raw, dict):
            pairs = [(str(k), v, _line_of(raw, k)) for k, v in raw.items()]
        elif isinstance(raw, list):
            for item in raw:
                text = _scalar_text(item)
                if text is None:
                    continue
                key, sep, value = text.partition("=")
                pairs.append((key, value if sep else None, getattr(item, "line", None)))
        elif raw is not None:
            self.error(layer.place, _line_of(layer.service, "build"), f"{prefix}.args is not a mapping or list")
        args: dict[str, str] = {}
        for key, value, line in pairs:
            if value is None:
                found = layer.env.lookup(key)  # `- KEY` alone: compose takes it from the environment
                if found is not None:
                    args[key] = found
                continue
            text, why = self.value(value, layer.env)
            if text is None:
                self.error(layer.place, line, f"{prefix}.args.{key}: {why}; the Dockerfile default is used")
                continue
            args[key] = text
        return args

    def build_images(self, build: dict[str, Any], layer: _Layer, prefix: str, suffix: str) -> Iterator[Evidence]:
        for key in ("tags", "cache_from", "cache_to"):
            items = build.get(key)
            if not isinstance(items, list):
                continue
            for item in items:
                text = _scalar_text(item)
                if text is None:
                    continue
                ref = _cache_ref(text) if key != "tags" else text
                if ref is None:
                    continue
                yield from self.image(ref, layer.env, layer.place,
                                      getattr(item, "line", None), f"{prefix}.{key}{suffix}")
        contexts = build.get("additional_contexts")
        for key, raw, line in _named_pairs(contexts):
            text = _scalar_text(raw) or ""
            if text.startswith("docker-image://"):
                yield from self.image(text[len("docker-image://"):], layer.env, layer.place, line,
                                      f"{prefix}.additional_contexts.{key}{suffix}")

    def named_contexts(self, layers: list[_Layer]) -> list[str]:
        names: list[str] = []
        for layer in layers:
            build = layer.service.get("build")
            if isinstance(build, dict):
                names.extend(key for key, _, _ in _named_pairs(build.get("additional_contexts")))
        return names


def _looks_like_version_1(document: dict[str, Any]) -> bool:
    """The legacy format without `services:`: every top-level key is a service (image or build)."""
    if any(str(key) in _TOP_LEVEL_KEYS or str(key).startswith("x-") for key in document):
        return False
    return any(isinstance(value, dict) and ("image" in value or "build" in value) for value in document.values())


def _named_pairs(value: Any) -> list[tuple[str, Any, int | None]]:
    if isinstance(value, dict):
        return [(str(k), v, _line_of(value, k)) for k, v in value.items()]
    if isinstance(value, list):
        pairs = []
        for item in value:
            text = _scalar_text(item)
            if text and "=" in text:
                key, _, rest = text.partition("=")
                pairs.append((key, rest, getattr(item, "line", None)))
        return pairs
    return []


def _cache_ref(text: str) -> str | None:
    """The registry ref of a cache_from/cache_to entry (`ref` or `type=registry,ref=...`), else None."""
    if "=" not in text:
        return text
    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        return None
    options = dict(item.partition("=")[::2] for item in fields)
    if options.get("type", "registry") != "registry":
        return None
    return options.get("ref") or None


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _line_of(mapping: Any, key: Any) -> int | None:
    line_of = getattr(mapping, "line_of", None)
    return line_of(key) if line_of else None


def _is_block_scalar(value: Any) -> bool:
    """A `|` or `>` block: its text starts on the line after the key (LineStr.line is the key's line)."""
    return isinstance(value, str) and "\n" in value.rstrip("\n")
