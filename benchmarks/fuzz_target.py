"""One fuzz input through the same path the command line takes, and what counts as a failure.

`run_input(kind, path)` reads PATH as KIND (a parser name, `allowlist` or `diff`) the way `regaudit discover`,
`regaudit audit` (every report) and `regaudit diff` do, and returns None when the run held, or a one-line
failure signature: an exception that escaped (the CLI would print a traceback and write no report), or a
parser's exception caught by the per-file guard (`X parser failed: ...`: the rest of that file is lost).
Shared by the campaign (benchmarks/fuzz.py) and the crash-fixture regression test.
"""

from __future__ import annotations

import functools
import hashlib
import json
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from auditor.core.allowlist import MatchMode
from auditor.core.evidence import EvidenceStore
from auditor.decisions.audit import AuditOptions
from auditor.pipeline.audit_run import renderers, run_audit
from auditor.pipeline.collect import CollectOptions, collect
from parsers import PARSERS
from reports.json_report import render_json
from reports.json_text import settled

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
CRASH_FIXTURES = FIXTURES / "fuzz"
READER_KINDS = ("allowlist", "diff")
_AUDIT_EVIDENCE = FIXTURES / "audit" / "clean" / "repo"
_AUDIT_ALLOWLIST = FIXTURES / "audit" / "clean" / "allowlist.txt"


@dataclass(frozen=True)
class Kind:
    name: str
    family: str


def kinds() -> list[Kind]:
    """Every parser kind (family from its package: repo, traffic, logs, machine) and the two readers."""
    found = [Kind(spec.name, spec.parse.__module__.split(".")[1]) for spec in PARSERS]
    return found + [Kind(name, "readers") for name in READER_KINDS]


def _options(kind: str | None) -> CollectOptions:
    return CollectOptions(variables={}, show_progress=False, forced_kind=kind)


@functools.cache
def _audit_evidence() -> EvidenceStore:
    return collect([str(_AUDIT_EVIDENCE)], _options(None))


def _render_all(document: dict) -> None:
    for render in renderers().values():
        output = render(document)
        if not isinstance(output, str):
            "".join(settled(output))  # a renderer that gives its pieces as they are made renders when read


def _audit(store: EvidenceStore, allowlist: Path) -> dict:
    """The audit as the CLI runs it: the allowlist read by the RAM target, then every report rendered."""
    options = AuditOptions(MatchMode.SUFFIX, 100, False, ())
    entries, errors = options.enforcement().read(allowlist)
    digest = hashlib.sha256(allowlist.read_bytes()).hexdigest()
    result = run_audit(store, entries, errors, digest, options, ["regaudit", "audit"])
    _render_all(result.document)
    return result.document


@functools.cache
def _audit_document_text() -> str:
    return render_json(_audit(_audit_evidence(), _AUDIT_ALLOWLIST))  # the document's rows as the JSON report


def _guard_failures(store: EvidenceStore) -> Iterator[str]:
    for error in store.errors:
        if " parser failed " in error.message:
            # the exception type and the first words, without the input's own text
            yield "guard: " + error.message.split("(", 1)[-1].split(":", 1)[0]


def run_input(kind: str, path: Path) -> str | None:
    """None when reading PATH as KIND held; otherwise the failure's signature."""
    from reports.discover import render_json, render_table

    try:
        if kind == "allowlist":
            _audit(_audit_evidence(), path)
            return None
        if kind == "diff":
            return _run_diff(path)
        failure = _parse_alone(kind, path)
        if failure:
            return failure
        store = collect([str(path)], _options(kind))
        render_json(store)
        render_table(store)
        _audit(store, _AUDIT_ALLOWLIST)
        return next(_guard_failures(store), None)
    except Exception as exc:
        return _signature(exc)


def _parse_alone(kind: str, path: Path) -> str | None:
    """The parser by itself, so an exception the per-file guard would catch keeps its traceback."""
    from parsers import parser_named
    from parsers.common.inputs import InputFile, ParseContext

    spec = parser_named(kind)
    assert spec is not None, kind
    try:
        for _record in spec.parse(InputFile.from_path(path), ParseContext()):
            pass
    except Exception as exc:
        return "parser: " + _signature(exc)
    return None


def _run_diff(path: Path) -> str | None:
    from auditor.decisions.diff import DiffError, diff_audits, diff_dict, load_audit, render_text

    good = path.with_name(path.name + ".old.json")
    good.write_text(_audit_document_text(), encoding="utf-8")
    try:
        for old, new in ((good, path), (path, good)):
            try:
                diff = diff_audits(load_audit(old), load_audit(new), str(old), str(new))
            except DiffError:
                continue  # the CLI's clean refusal
            json.dumps(diff_dict(diff))
            render_text(diff)
    finally:
        good.unlink(missing_ok=True)
    return None


def _signature(exc: BaseException) -> str:
    """Exception type and the innermost project frame: stable across inputs that hit the same bug."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(REPO_ROOT) in (f.filename or "")]
    where = f"{Path(frames[-1].filename).relative_to(REPO_ROOT)}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}"
