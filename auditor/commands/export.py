"""`regaudit export`: one decision written as an enforcement point's own configuration.

The decision comes from exactly one of: an allowlist file (read with the target's semantics), a proposal
JSON (`propose --format json`), or the evidence itself (INPUT..., proposed on the spot).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from auditor.commands.evidence import printable
from auditor.targets import EXPORT_TARGETS

# A proposal over 10^5 required hosts is about 115 MB of JSON (every host with its needs); the cap stops a file
# that is no proposal at all from being read into memory, not a big fleet's proposal.
MAX_PROPOSAL_BYTES = 1024 * 1024 * 1024
FORMATS = ("csv", "text", "squid", "acl", "rpz", "unbound", "yaml", "gatekeeper", "kyverno")


class ProposalFileError(ValueError):
    pass


@click.command("export")
@click.argument("inputs", nargs=-1)
@click.option("--target", required=True, type=click.Choice(EXPORT_TARGETS), help="The enforcement point.")
@click.option("--format", "output_format", type=click.Choice(FORMATS),
              help="The target's format (default: its first). ram: csv|text; proxy: squid|acl; dns: rpz|unbound; "
                   "harden-runner: yaml; k8s-admission: gatekeeper|kyverno; hadolint: yaml.")
@click.option("--allowlist", "allowlist_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Export this allowlist (read with the target's semantics).")
@click.option("--proposal", "proposal_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Export a proposal written by `propose --format json`.")
@click.option("--match", "match_mode", type=click.Choice(["suffix", "exact"]), default="suffix", show_default=True,
              help="RAM's match mode, and the proposal's when proposing from INPUTs.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file, not stdout.")
def export_command(inputs: tuple[str, ...], target: str, output_format: str | None, allowlist_path: Path | None,
                   proposal_path: Path | None, match_mode: str, output: Path | None) -> None:
    """Write the native configuration of --target from an allowlist, a proposal, or the evidence (INPUT...)."""
    from auditor.core.allowlist import MatchMode
    from auditor.targets import target_named

    given = [name for name, value in (("--allowlist", allowlist_path), ("--proposal", proposal_path),
                                      ("INPUT", inputs)) if value]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --allowlist FILE, --proposal PROPOSAL.json or INPUT...")
    enforcement = target_named(target, MatchMode(match_mode))
    if output_format is not None and output_format not in enforcement.formats:
        raise click.BadParameter(f"target {target} writes {', '.join(enforcement.formats)}", param_hint="--format")
    if allowlist_path is not None:
        text = _from_allowlist(allowlist_path, enforcement, output_format)
    elif proposal_path is not None:
        text = _from_proposal(proposal_path, enforcement, output_format)
    else:
        text = _from_inputs(inputs, target, MatchMode(match_mode), output_format)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def _from_allowlist(path: Path, enforcement: Any, output_format: str | None) -> str:
    if not path.is_file():
        raise click.BadParameter(f"{path}: no such file", param_hint="--allowlist")
    allowlist, errors = enforcement.read(path)
    for error in errors:
        click.echo(f"regaudit: error: {printable(str(error))}", err=True)
    for entry in allowlist:
        problem = enforcement.validate(entry.original.strip())
        if problem:
            click.echo(f"regaudit: warning: {path}:{entry.line}: {printable(problem)}", err=True)
    rules = enforcement.rules(allowlist)
    if enforcement.name == "hadolint":
        from auditor.targets.base import Rule, Scope

        rules = [Rule(r.host, Scope.EXACT) for r in rules]
    return str(enforcement.write(rules, output_format))


def _from_proposal(path: Path, enforcement: Any, output_format: str | None) -> str:
    try:
        rules = proposal_file_rules(path, enforcement)
    except ProposalFileError as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--proposal") from None
    return str(enforcement.write(rules, output_format))


def proposal_file_rules(path: Path, enforcement: Any) -> list[Any]:
    """The rules a `propose --format json` document stands for, under ENFORCEMENT."""
    import orjson

    from auditor.core.reference import InvalidReference, parse_reference
    from auditor.targets.base import Rule, Scope
    from auditor.targets.k8s_admission import namespace_prefix

    try:
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_PROPOSAL_BYTES:  # (before reading any of it)
                raise ProposalFileError(f"larger than {MAX_PROPOSAL_BYTES:,} bytes")
            raw = handle.read(MAX_PROPOSAL_BYTES + 1)
    except OSError as exc:
        raise ProposalFileError(f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_PROPOSAL_BYTES:  # (a file that grew while it was read)
        raise ProposalFileError(f"larger than {MAX_PROPOSAL_BYTES:,} bytes")
    try:
        # orjson decodes bytes directly (no decoded str copy of a 115 MB document first)
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProposalFileError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("schema") != "regaudit/proposal":
        raise ProposalFileError("not a regaudit proposal (`propose --format json`)")
    entries = data.get("entries")
    required = data.get("required")
    if not isinstance(entries, list) or not isinstance(required, list):
        raise ProposalFileError("'entries' and 'required' must be lists")
    if enforcement.matches_images or enforcement.name == "hadolint":
        references = []
        for item in required:
            for need in (item.get("needed_by") if isinstance(item, dict) else None) or []:
                if isinstance(need, dict) and need.get("kind") == "image" and isinstance(need.get("text"), str):
                    try:
                        references.append(parse_reference(need["text"]))
                    except InvalidReference:
                        continue
        if enforcement.name == "hadolint":
            return [Rule(name, Scope.EXACT) for name in sorted({r.registry for r in references})]
        return [Rule(p, Scope.EXACT) for p in sorted({namespace_prefix(r) for r in references})]
    suffix = data.get("match") == "suffix"
    rules = []
    for item in entries:
        if not isinstance(item, dict) or not isinstance(item.get("address"), str):
            raise ProposalFileError("an entry without an 'address' string")
        covers = [c for c in item.get("covers") or [] if isinstance(c, str)]
        below = bool(item.get("collapsed")) or any(c != item["address"] for c in covers)
        roles = "/".join(r for r in item.get("roles") or [] if isinstance(r, str))
        rules.append(Rule(item["address"], Scope.SUBTREE if suffix and below else Scope.EXACT, roles))
    return rules


def _from_inputs(inputs: tuple[str, ...], target: str, mode: Any, output_format: str | None) -> str:
    from auditor.commands.evidence import read_evidence
    from auditor.decisions.analysis import analyse
    from reports.proposal import render_native

    store = read_evidence(inputs)
    return render_native(analyse(store, mode=mode, target=target), target, output_format)

