"""Signals in the inputs of pulls that Registry Access Management does not filter.

Docker documents that RAM does not restrict buildx with the Kubernetes driver or a docker-container driver,
Windows containers (unless "Use proxy for Windows Docker daemon" is on), and some Docker Debug pulls.
Parsers extract image names, not build drivers, so this module reads the raw text of the (small, text)
repository files once more and looks for those switches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from auditor.core.evidence import EvidenceStore
from auditor.core.model import Source

MAX_SCAN_BYTES = 1024 * 1024  # configuration files are small; captures and big logs are not scanned

_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("buildx-kubernetes", re.compile(r"buildx\s+create\b.*--driver(?:=|\s+)kubernetes\b"),
     "buildx builder with the kubernetes driver: its pulls run in the cluster, outside Docker Desktop"),
    ("buildx-docker-container", re.compile(r"buildx\s+create\b.*--driver(?:=|\s+)docker-container\b"),
     "buildx builder with the docker-container driver: BuildKit in a container pulls on its own"),
    ("buildx-docker-container", re.compile(r"buildx\s+create\b(?!.*--driver)"),
     "`docker buildx create` without --driver makes a docker-container builder, which RAM does not filter"),
    ("buildx-kubernetes", re.compile(r"^\s*driver:\s*['\"]?kubernetes['\"]?\s*(?:#.*)?$"),
     "CI configuration selects the buildx kubernetes driver"),
    ("buildx-docker-container", re.compile(r"^\s*driver:\s*['\"]?docker-container['\"]?\s*(?:#.*)?$"),
     "CI configuration selects the buildx docker-container driver"),
    ("buildx-docker-container", re.compile(r"uses:\s*['\"]?docker/setup-buildx-action@"),
     "docker/setup-buildx-action creates a docker-container builder unless `driver: docker` is set"),
    ("windows-containers", re.compile(r"--platform(?:=|\s+)['\"]?windows/", re.IGNORECASE),
     "a Windows platform is requested: Windows containers bypass RAM unless the Windows daemon uses the proxy"),
    ("windows-containers", re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?mcr\.microsoft\.com/windows(?:/|:|\s|$)",
                                      re.IGNORECASE),
     "a Windows base image: Windows containers bypass RAM unless the Windows daemon uses the proxy"),
    ("docker-debug", re.compile(r"(?:^|[\s;&|])docker\s+debug\s"),
     "Docker Debug pulls its toolbox image outside RAM in some versions"),
)


@dataclass(frozen=True, slots=True)
class Signal:
    kind: str  # buildx-kubernetes | buildx-docker-container | windows-containers | docker-debug
    explanation: str
    text: str
    source: Source


def scan_store_inputs(store: EvidenceStore) -> list[Signal]:
    """Signals in every small text input the store read; Windows base images from the references."""
    signals: list[Signal] = []
    for record in sorted(store.inputs, key=lambda r: r.path):
        if record.size > MAX_SCAN_BYTES or record.path.startswith("<"):
            continue
        signals += scan_file(Path(record.path), record.path)
    seen = {(s.source.path, s.source.line) for s in signals}
    for ref in store.sorted_references():
        if ref.registry == "mcr.microsoft.com" and ref.repository.split("/")[0] == "windows" and ref.source \
                and (ref.source.path, ref.source.line) not in seen:
            signals.append(Signal("windows-containers",
                                  "a Windows base image: Windows containers bypass RAM unless the Windows "
                                  "daemon uses the proxy", ref.original, ref.source))
    return sorted(signals, key=lambda s: (s.kind, s.source.path, s.source.line or 0))


def scan_file(path: Path, display: str) -> list[Signal]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SCAN_BYTES)
    except OSError:
        return []
    if b"\0" in raw[:8192]:
        return []
    text = raw.decode("utf-8", errors="replace")
    found: list[Signal] = []
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > 4096:
            continue
        for kind, pattern, explanation in _PATTERNS:
            if pattern.search(line):
                found.append(Signal(kind, explanation, line.strip()[:200], Source(display, number, parser="scan")))
                break
    return found
