"""Helm charts and other artifacts pulled from OCI registries: they go through the same registries (and the same
allowlists) as images.

What is a reference (context in brackets):
- `Chart.yaml` `dependencies[]` with an `oci://` repository (`Chart.yaml dependencies[NAME] (OCI chart)`):
  `helm dependency build` pulls `REPOSITORY/NAME:VERSION`;
- `helmfile.yaml` (also `helmfile.yml`, `helmfile.d/*.yaml`): a release whose `chart:` is `oci://...`, or
  `REPO/NAME` where repository REPO has `oci: true` (`releases[NAME].chart (OCI chart)`);
- read by the Kubernetes parser for their objects: Argo CD `Application` / `ApplicationSet` sources whose
  `repoURL` is `oci://...`, or a scheme-less registry path with a `chart` (Argo CD's OCI Helm form), pulled at
  `targetRevision`; Flux `OCIRepository` `spec.url` with `spec.ref` (tag, digest; a semver range leaves the tag
  open) and `HelmRepository` with `type: oci` (a registry host the controller pulls charts from: a
  HostReference, since the chart it serves is named elsewhere).
A version that is not a valid tag (a range such as `>=1.2.0 <2` or `2.x`) names no tag: the registry is known,
the version is not. Templated values (`{{ }}`) are Unresolved.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, HostPurpose, HostReference, ImageReference, Source, Unresolved
from parsers.common.image_text import image_record
from parsers.common.inputs import InputFile, ParseContext, read_config_text
from parsers.common.yaml_stream import YamlProblem, iter_documents

NAME = "oci_charts"

_CHART_CONTENT_RE = re.compile(rb"^apiVersion[ \t]*:[ \t]*[\"']?v[12][\"']?[ \t]*(?:#.*)?\r?$", re.MULTILINE)
_HELMFILE_RE = re.compile(r"^helmfile(?:\.[\w-]+)?\.ya?ml(?:\.gotmpl)?$", re.IGNORECASE)
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_RANGE_RE = re.compile(r"[<>=^~*, |]|(?:^|\.)[xX](?:\.|$)")
_ARGO_GROUP = "argoproj.io/"
_FLUX_SOURCE_GROUP = "source.toolkit.fluxcd.io/"


def detect(inp: InputFile) -> bool:
    name = inp.name
    if name == "Chart.yaml":
        return bool(_CHART_CONTENT_RE.search(inp.head))
    if _HELMFILE_RE.match(name):
        return True
    return inp.path.parent.name == "helmfile.d" and name.lower().endswith((".yaml", ".yml", ".gotmpl"))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME)
    yield from errors
    if text is None:
        return
    ctx.advance(inp.size)
    chart_file = inp.name == "Chart.yaml"
    for item in iter_documents(text):
        if isinstance(item, YamlProblem):
            if not chart_file and "{{" in item.text:
                continue  # a helmfile with Go templates between documents: the other documents still count
            yield inp.error(f"{item.message} (in document {item.number}, starting at line {item.start})",
                            line=item.line or item.start, parser=NAME)
            continue
        if not isinstance(item.value, dict):
            continue
        if chart_file:
            yield from _chart_dependencies(inp, ctx, item.value)
        else:
            yield from _helmfile_releases(inp, ctx, item.value)


def _chart_dependencies(inp: InputFile, ctx: ParseContext, chart: dict[Any, Any]) -> Iterator[Evidence]:
    dependencies = chart.get("dependencies")
    if dependencies is None:
        return
    if not isinstance(dependencies, list):
        yield inp.error("dependencies is not a list", line=chart.line_of("dependencies"), parser=NAME)
        return
    for dependency in dependencies:
        if not isinstance(dependency, dict):
            continue
        repository = dependency.get("repository")
        name = dependency.get("name")
        if not (isinstance(repository, str) and repository.startswith("oci://") and isinstance(name, str)):
            continue  # an HTTP chart repository or a local file:// chart: not a registry pull
        line = getattr(repository, "line", None) or dependency.line_of("repository")
        yield chart_reference(f"{repository.removeprefix('oci://').rstrip('/')}/{name}", dependency.get("version"),
                              inp.source(line=line, parser=NAME), f"Chart.yaml dependencies[{name}] (OCI chart)",
                              ctx)


def _helmfile_releases(inp: InputFile, ctx: ParseContext, helmfile: dict[Any, Any]) -> Iterator[Evidence]:
    oci_repositories: dict[str, str] = {}
    repositories = helmfile.get("repositories")
    for repository in repositories if isinstance(repositories, list) else []:
        if not isinstance(repository, dict):
            continue
        name, url = repository.get("name"), repository.get("url")
        if isinstance(name, str) and isinstance(url, str) and (repository.get("oci") is True
                                                               or url.startswith("oci://")):
            oci_repositories[name] = url.removeprefix("oci://").rstrip("/")
    releases = helmfile.get("releases")
    for position, release in enumerate(releases if isinstance(releases, list) else []):
        if not isinstance(release, dict):
            continue
        chart = release.get("chart")
        if not isinstance(chart, str):
            continue
        label = release.get("name") if isinstance(release.get("name"), str) else str(position)
        source = inp.source(line=getattr(chart, "line", None) or release.line_of("chart"), parser=NAME)
        context = f"releases[{label}].chart (OCI chart)"
        if chart.startswith("oci://"):
            yield chart_reference(chart.removeprefix("oci://"), release.get("version"), source, context, ctx)
            continue
        repo, _, chart_name = chart.partition("/")
        if repo in oci_repositories and chart_name:
            yield chart_reference(f"{oci_repositories[repo]}/{chart_name}", release.get("version"), source, context,
                                  ctx)


def chart_reference(name: str, version: Any, source: Source, context: str, ctx: ParseContext
                    ) -> ImageReference | Unresolved:
    """NAME (registry/path/chart) at VERSION as a reference; a range or no version leaves the tag open."""
    version_text = str(version).strip() if isinstance(version, (str, int, float)) and version is not None else ""
    if "{{" in name or "{{" in version_text:
        return Unresolved(f"{name}:{version_text}" if version_text else name,
                          "a Go template expression: render the file first", source, context)
    is_tag = bool(version_text) and bool(_TAG_RE.match(version_text)) and not _RANGE_RE.search(version_text)
    if version_text.startswith("sha256:"):
        record = image_record(f"{name}@{version_text}", source, context, ctx.variables)
    else:
        record = image_record(f"{name}:{version_text}" if is_tag else name, source, context, ctx.variables)
    if isinstance(record, ImageReference) and not is_tag and not version_text.startswith("sha256:"):
        note = f", version {version_text}" if version_text else ", no version"
        record = dataclasses.replace(record, tag=None, context=context + note)
    return record


# -- objects read by the Kubernetes parser ---------------------------------------------------------------------

def is_oci_source_object(obj: dict[Any, Any]) -> bool:
    api, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api, str):
        return False
    if api.startswith(_ARGO_GROUP):
        return kind in ("Application", "ApplicationSet")  # Argo Workflows share the group: operator_crds reads them
    return api.startswith(_FLUX_SOURCE_GROUP)


def object_references(inp: InputFile, ctx: ParseContext, obj: dict[Any, Any], label: str,
                      parser: str = NAME) -> Iterator[Evidence]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    kind = obj.get("kind")
    if kind == "ApplicationSet":
        template = spec.get("template")
        spec = template.get("spec") if isinstance(template, dict) else None
        if not isinstance(spec, dict):
            return
    if kind in ("Application", "ApplicationSet"):
        sources = [spec["source"]] if isinstance(spec.get("source"), dict) else []
        sources += [s for s in spec.get("sources") or [] if isinstance(s, dict)] if isinstance(
            spec.get("sources"), list) else []
        for position, source in enumerate(sources):
            where = f"spec.sources[{position}]" if len(sources) > 1 else "spec.source"
            yield from _argo_source(inp, ctx, source, f"{label}: {where}", parser)
    elif kind == "OCIRepository":
        yield from _flux_oci_repository(inp, ctx, spec, label, parser)
    elif kind == "HelmRepository" and spec.get("type") == "oci":
        url = spec.get("url")
        if isinstance(url, str) and url.startswith("oci://"):
            host = url.removeprefix("oci://").split("/", 1)[0]
            source = inp.source(line=getattr(url, "line", None) or spec.line_of("url"), parser=parser)
            yield HostReference(host, HostPurpose.REGISTRY_URL, url, source,
                                f"{label}: spec.url (OCI Helm repository)")


def _argo_source(inp: InputFile, ctx: ParseContext, source: dict[Any, Any], context: str,
                 parser: str) -> Iterator[Evidence]:
    repo_url = source.get("repoURL")
    if not isinstance(repo_url, str):
        return
    chart = source.get("chart")
    where = inp.source(line=getattr(repo_url, "line", None) or source.line_of("repoURL"), parser=parser)
    if repo_url.startswith("oci://"):
        name = repo_url.removeprefix("oci://").rstrip("/")
        if isinstance(chart, str) and chart:
            name = f"{name}/{chart}"
    elif "://" not in repo_url and not repo_url.startswith("git@") and isinstance(chart, str) and chart:
        name = f"{repo_url.rstrip('/')}/{chart}"  # Argo CD's OCI Helm source: a registry path without a scheme
    else:
        return  # a Git repository or an HTTP Helm repository
    yield chart_reference(name, source.get("targetRevision"), where, f"{context}.repoURL (OCI artifact)", ctx)


def _flux_oci_repository(inp: InputFile, ctx: ParseContext, spec: dict[Any, Any], label: str,
                         parser: str) -> Iterator[Evidence]:
    url = spec.get("url")
    if not isinstance(url, str) or not url.startswith("oci://"):
        return
    ref = spec.get("ref") if isinstance(spec.get("ref"), dict) else {}
    digest, tag, semver = ref.get("digest"), ref.get("tag"), ref.get("semver")
    version = digest if isinstance(digest, str) else tag if isinstance(tag, str) else semver if isinstance(
        semver, str) else "latest"
    source = inp.source(line=getattr(url, "line", None) or spec.line_of("url"), parser=parser)
    yield chart_reference(url.removeprefix("oci://"), version, source, f"{label}: spec.url (OCI artifact)", ctx)

