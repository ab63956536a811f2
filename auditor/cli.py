"""The command line. Thin: it parses options, calls the auditor, hands results to a renderer.

Exit codes (the contract CI jobs rely on):
  0  done
  1  policy failure: a finding kind named in --fail-on was found
  2  usage error; or, with --strict, an input could not be read fully or a reference stayed unresolved;
     for `trace`, an image could not be traced (the others are still traced and printed)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from auditor import __version__
from auditor.core.evidence import EvidenceStore
from auditor.pipeline.collect import CollectOptions
from auditor.pipeline.engine import collect_with_engine, engine_options
from auditor.pipeline.store_commands import add_period, merge_store_window, window_options

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_USAGE_OR_STRICT = 2


def _parse_assignments(values: tuple[str, ...]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected VAR=VALUE, got {item!r}", param_hint="--set")
        variables[name] = value
    return variables


def evidence_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that reads inputs."""
    func = click.option("--strict", is_flag=True,
                        help="Exit 2 if any input could not be read fully or any reference stayed unresolved.")(func)
    func = click.option("--kind", "forced_kind", metavar="KIND",
                        help="Parse every file named on the command line as KIND (e.g. dnsmasq for '-').")(func)
    func = click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                        help="A .env file whose variables feed compose and Dockerfile interpolation.")(func)
    func = click.option("--set", "assignments", multiple=True, metavar="VAR=VALUE",
                        help="Set a variable for interpolation (like --build-arg); repeatable.")(func)
    func = click.argument("inputs", nargs=-1, required=True)(func)
    return func


def load_evidence(inputs: tuple[str, ...], assignments: tuple[str, ...], env_files: tuple[Path, ...],
                  forced_kind: str | None, hash_inputs: bool = False) -> EvidenceStore:
    from parsers import parser_named

    if forced_kind and parser_named(forced_kind) is None:
        raise click.BadParameter(f"unknown kind {forced_kind!r}", param_hint="--kind")
    options = CollectOptions(variables=_parse_assignments(assignments), env_files=env_files,
                             hash_inputs=hash_inputs, forced_kind=forced_kind)
    store = collect_with_engine(inputs, options)
    for error in sorted(store.errors, key=lambda e: (e.source.path, e.source.line or 0, e.source.packet or 0)):
        click.echo(f"regaudit: error: {_one_line(str(error))}", err=True)
    return store


def _one_line(text: str) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def strict_exit_code(store: EvidenceStore, strict: bool) -> int:
    if strict and (store.errors or store.unresolved):
        return EXIT_USAGE_OR_STRICT
    return EXIT_OK


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="regaudit")
def main() -> None:
    """Find the registries and domains an organization needs; propose and audit allowlists."""


@main.command()
@evidence_options
@engine_options
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file, not stdout.")
def discover(inputs: tuple[str, ...], assignments: tuple[str, ...], env_files: tuple[Path, ...],
             forced_kind: str | None, strict: bool, output_format: str, output: Path | None) -> None:
    """What the inputs reference, observe, redirect to and were blocked from."""
    from reports.discover import render_json, render_table

    store = load_evidence(inputs, assignments, env_files, forced_kind)
    text = render_json(store) if output_format == "json" else render_table(store)
    _write(text, output)
    sys.exit(strict_exit_code(store, strict))


@main.command()
@window_options
@evidence_options
@engine_options
@click.option("--budget", type=click.IntRange(min=1), default=100, show_default=True,
              help="Maximum number of entries (Docker Desktop RAM: 100).")
@click.option("--match", "match_mode", type=click.Choice(["suffix", "exact"]), default="suffix", show_default=True,
              help="suffix: an entry also allows its subdomains; exact: only that name.")
@click.option("--count-docker-hub-default/--no-count-docker-hub-default", default=False, show_default=True,
              help="Count RAM's built-in Docker Hub entry toward the budget (undocumented either way).")
@click.option("--format", "output_format", type=click.Choice(["text", "csv", "json", "squid", "hadolint"]),
              default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file, not stdout.")
def propose(inputs: tuple[str, ...], assignments: tuple[str, ...], env_files: tuple[Path, ...],
            forced_kind: str | None, strict: bool, budget: int, match_mode: str, count_docker_hub_default: bool,
            output_format: str, output: Path | None, **window: Any) -> None:
    """Propose the fewest, narrowest allowlist entries covering every required host."""
    from auditor.core.allowlist import MatchMode
    from auditor.decisions.analysis import analyse
    from reports.proposal import RENDERERS

    store = load_evidence(inputs, assignments, env_files, forced_kind)
    merge_store_window(store, inputs=inputs, **window)
    analysis = analyse(store, budget=budget, mode=MatchMode(match_mode),
                       count_docker_hub_default=count_docker_hub_default)
    _write(RENDERERS[output_format](analysis.proposal), output)
    sys.exit(strict_exit_code(store, strict))


@main.command()
@window_options
@evidence_options
@engine_options
@click.option("--allowlist", "allowlist_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The allowlist to audit: one host a line, CSV, JSON or Squid acl lines.")
@click.option("--org", "orgs", multiple=True, metavar="NAME",
              help="A Docker Hub namespace of your organization (Image Access Management); repeatable.")
@click.option("--budget", type=click.IntRange(min=1), default=100, show_default=True,
              help="Maximum number of entries (Docker Desktop RAM: 100).")
@click.option("--match", "match_mode", type=click.Choice(["suffix", "exact"]), default="suffix", show_default=True,
              help="suffix: an entry also allows its subdomains; exact: only that name.")
@click.option("--count-docker-hub-default", is_flag=True,
              help="Count RAM's built-in Docker Hub entry toward the budget.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML report.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report.")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), help="Write findings as CSV.")
@click.option("--sarif", "sarif_out", type=click.Path(dir_okay=False, path_type=Path), help="Write SARIF 2.1.0.")
@click.option("--md", "md_out", type=click.Path(dir_okay=False, path_type=Path), help="Write a Markdown summary.")
@click.option("--fail-on", "fail_on", metavar="KINDS",
              help="Exit 1 when a finding of these kinds is found: comma-separated (missing,over-broad,...) or any.")
def audit(inputs: tuple[str, ...], assignments: tuple[str, ...], env_files: tuple[Path, ...],
          forced_kind: str | None, strict: bool, allowlist_path: Path, orgs: tuple[str, ...], budget: int,
          match_mode: str, count_docker_hub_default: bool, html_out: Path | None, json_out: Path | None,
          csv_out: Path | None, sarif_out: Path | None, md_out: Path | None, fail_on: str | None,
          **window: Any) -> None:
    """Audit an existing allowlist against what the inputs need; write reports."""
    from auditor.core.allowlist import MatchMode
    from auditor.decisions.audit import AuditOptions
    from auditor.pipeline.audit_run import command_line, parse_fail_on, run_audit, summary_text, write_reports

    try:
        fail_kinds = parse_fail_on(fail_on)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fail-on") from None
    if not allowlist_path.is_file():
        raise click.BadParameter(f"{allowlist_path}: no such file", param_hint="--allowlist")
    options = AuditOptions(MatchMode(match_mode), budget, count_docker_hub_default, tuple(orgs))
    outputs = {"html": html_out, "json": json_out, "csv": csv_out, "sarif": sarif_out, "md": md_out}
    extra = [w for a in assignments for w in ("--set", a)] + [w for e in env_files for w in ("--env-file", str(e))]
    extra += ["--kind", forced_kind] if forced_kind else []
    store = load_evidence(inputs, assignments, env_files, forced_kind, hash_inputs=True)
    chosen = merge_store_window(store, inputs=inputs, **window)
    result = run_audit(store, allowlist_path,
                       options, command_line(inputs, allowlist_path, options, outputs, fail_on, strict, extra))
    add_period(result, chosen)
    for error in result.allowlist_errors:
        click.echo(f"regaudit: error: {_one_line(str(error))}", err=True)
    result.outputs = write_reports(result.document, outputs)
    click.echo(summary_text(result), nl=False)
    if strict and (store.errors or store.unresolved or result.allowlist_errors):
        sys.exit(EXIT_USAGE_OR_STRICT)
    if any(f.kind in fail_kinds for f in result.findings):
        sys.exit(EXIT_POLICY)
    sys.exit(EXIT_OK)


@main.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file, not stdout.")
def diff_command(old: Path, new: Path, output_format: str, output: Path | None) -> None:
    """What changed between two `audit --json` reports: entries added/removed, findings new/resolved."""
    import json

    from auditor.decisions.diff import DiffError, diff_audits, diff_dict, load_audit, render_text

    try:
        diff = diff_audits(load_audit(old), load_audit(new), str(old), str(new))
    except DiffError as exc:
        raise click.UsageError(str(exc)) from None
    text = json.dumps(diff_dict(diff), indent=2, ensure_ascii=False) + "\n" if output_format == "json" \
        else render_text(diff)
    _write(text, output)
    sys.exit(EXIT_OK)


@main.command("trace")
@click.argument("images", nargs=-1, required=True)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds per request (connect and each read).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trust this CA bundle too (private registries).")
@click.option("--insecure", is_flag=True, help="Do not verify TLS certificates.")
@click.option("--plain-http", is_flag=True, help="Talk to the registries over http://, not https://.")
@click.option("--max-redirects", type=click.IntRange(1, 20), default=5, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file, not stdout.")
def trace_command(images: tuple[str, ...], timeout: float, output_format: str, ca_file: Path | None, insecure: bool,
                  plain_http: bool, max_redirects: int, output: Path | None) -> None:
    """Live probe: the hosts a pull of each IMAGE really contacts (API, token realm, blob redirects).

    Reads headers only: no blob body is downloaded. Proxy settings (HTTPS_PROXY, NO_PROXY) are honoured.
    Exit code 0 if every image was traced, 2 if any failed (each failure is reported; the others still run).
    `--format json` output can be given back to discover/propose/audit as an input.
    """
    from auditor.probe.trace import TraceOptions, trace_image
    from reports.trace import render_json, render_text

    options = TraceOptions(timeout=timeout, insecure=insecure, plain_http=plain_http, ca_file=ca_file,
                           max_redirects=max_redirects)
    results = [trace_image(image, options) for image in images]
    for result in results:
        if result.error:
            click.echo(f"regaudit: trace {_one_line(result.image)}: {_one_line(result.error)}", err=True)
    _write(render_json(results) if output_format == "json" else render_text(results), output)
    sys.exit(EXIT_OK if all(r.ok for r in results) else EXIT_USAGE_OR_STRICT)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


from auditor.pipeline.store_commands import history_command, ingest_command, store_group  # noqa: E402

main.add_command(ingest_command)
main.add_command(history_command)
main.add_command(store_group)


if __name__ == "__main__":  # pragma: no cover
    main()
