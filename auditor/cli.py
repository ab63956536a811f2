"""The command line. Thin: it parses options, calls the auditor, hands results to a renderer.

Exit codes (the contract CI jobs rely on) are listed in EXIT_CODES_HELP, shown by `regaudit --help`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from auditor import __version__
from auditor.pipeline.engine import engine_options
from auditor.pipeline.store_commands import window_options

EXIT_OK = 0
EXIT_POLICY = 1  # only --fail-on (and diff --fail-on-new): a policy the findings break
EXIT_USAGE_OR_STRICT = 2  # usage, unusable input or output; --strict: partial input or an unknown host

EXIT_CODES_HELP = """\b
Exit codes:
  0  done
  1  policy failure: a finding named by --fail-on (kind or severity) that is not
     accepted was found (diff: a new finding named by --fail-on-new)
  2  usage error; a named input that is missing, unreadable or of no known kind;
     a directory holding no input of a known kind; an allowlist that is missing,
     binary or has no valid entry; a config file or baseline that cannot be used;
     an output that cannot be written; with --strict, an input read only in part,
     an allowlist line not understood or a reference whose host is unknown;
     trace: an image that could not be traced
"""


class _Abort(Exception):
    """A problem that ends the command with exit 2 after one `regaudit: error:` line."""


def _fail(message: str) -> NoReturn:
    raise _Abort(message)


@contextmanager
def _exits() -> Iterator[None]:
    """Turns the pipeline's own errors (config, output, allowlist ...) into one line and exit 2, never a traceback."""
    from auditor.pipeline.config import ConfigError
    from auditor.pipeline.outputs import OutputError

    try:
        yield
    except (_Abort, ConfigError, OutputError) as exc:
        click.echo(f"regaudit: error: {_one_line(str(exc))}", err=True)
        sys.exit(EXIT_USAGE_OR_STRICT)


def _one_line(text: str) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


# --- options shared by the commands ---------------------------------------------------------------------------------

class _KindOption(click.Option):
    """--kind, whose help lists the registered kinds; the list is read only when help is shown, so start-up
    does not import every parser."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        return record[0], f"{record[1]} Kinds: {', '.join(known_kinds())}."


def known_kinds() -> list[str]:
    from parsers import PARSERS

    return [spec.name for spec in PARSERS]


def _parse_assignments(values: tuple[str, ...]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise click.BadParameter(f"expected VAR=VALUE, got {item!r}", param_hint="--set")
        variables[name] = value
    return variables


def output_option(*names: str, help: str) -> Callable[..., Any]:
    return click.option(*names, type=click.Path(dir_okay=False, allow_dash=True), default=None,
                        help=f"{help} `-` for standard output.")


def quiet_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--no-progress", is_flag=True, help="No progress bars (they are shown on a terminal only).")(
        func)
    func = click.option("-q", "--quiet", is_flag=True,
                        help="Print only errors: no summary, no progress bars.")(func)
    return func


def evidence_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that reads inputs."""
    func = quiet_options(func)
    func = click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                        help="The config file (default: .regaudit.yaml in the current directory, if there).")(func)
    func = click.option("--strict", is_flag=True,
                        help="Exit 2 if any input could not be read fully or any reference's host stayed unknown.")(
        func)
    func = click.option("--kind", "forced_kind", metavar="KIND", cls=_KindOption,
                        help="Parse every file named on the command line as KIND (e.g. dnsmasq for '-').")(func)
    func = click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                        help="A .env file whose variables feed compose and Dockerfile interpolation.")(func)
    func = click.option("--values", "values_files", multiple=True, expose_value=False, callback=_keep_values_files,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="A Helm values file applied over every chart found, as `helm install -f FILE`; "
                             "repeatable, later files win.")(func)
    func = click.option("--set", "assignments", multiple=True, metavar="VAR=VALUE",
                        help="Set a variable for interpolation (like --build-arg), a CI variable (CI_COMMIT_SHA=...) "
                             "or a GitHub expression as written in ${{ }} (github.sha=..., env.REGISTRY=...); "
                             "repeatable.")(func)
    func = click.argument("inputs", nargs=-1, required=True)(func)
    return func


def _keep_values_files(ctx: click.Context, _param: click.Parameter, value: tuple[Path, ...]) -> None:
    """--values reaches load_evidence through the context: the commands' own signatures stay as they are."""
    ctx.meta["regaudit.values_files"] = value


def _values_files() -> tuple[Path, ...]:
    ctx = click.get_current_context(silent=True)
    return tuple(ctx.meta.get("regaudit.values_files", ())) if ctx is not None else ()


def load_evidence(inputs: tuple[str, ...], assignments: tuple[str, ...], env_files: tuple[Path, ...],
                  forced_kind: str | None, hash_inputs: bool = False, progress: bool = True) -> Any:
    """Collect the evidence of INPUTS; print each input error on one line. The store's `unusable` list says
    which named inputs gave nothing (they fail the run with exit 2 once the rest is done)."""
    from auditor.pipeline.collect import CollectOptions
    from auditor.pipeline.engine import collect_with_engine
    from parsers import parser_named

    if forced_kind and parser_named(forced_kind) is None:
        raise click.BadParameter(f"unknown kind {forced_kind!r} (known: {', '.join(known_kinds())})",
                                 param_hint="--kind")
    options = CollectOptions(variables=_parse_assignments(assignments), env_files=env_files,
                             hash_inputs=hash_inputs, forced_kind=forced_kind,
                             show_progress=None if progress else False, values_files=_values_files())
    store = collect_with_engine(inputs, options)
    for error in sorted(store.errors, key=lambda e: (e.source.path, e.source.line or 0, e.source.packet or 0)):
        click.echo(f"regaudit: error: {_one_line(str(error))}", err=True)
    return store


def input_exit_code(store: Any, strict: bool) -> int:
    """2 when a named input gave nothing (always), or with --strict when anything was read only in part or a
    reference's host stayed unknown; else 0."""
    if store.unusable:
        return EXIT_USAGE_OR_STRICT
    if strict and (store.errors or store.unresolved):
        return EXIT_USAGE_OR_STRICT
    return EXIT_OK


strict_exit_code = input_exit_code  # the name earlier callers used


def _config(path: Path | None) -> Any:
    from auditor.pipeline.config import find_config, load_config

    return load_config(find_config(path))


def target_option(help_text: str) -> Callable[..., Any]:
    from auditor.targets import DEFAULT_TARGET, POLICY_TARGETS

    return click.option("--target", type=click.Choice(POLICY_TARGETS), default=DEFAULT_TARGET, show_default=True,
                        help=f"{help_text} Default: the config file's `target`, else ram.")


def _target(ctx: click.Context, target: str, config: Any) -> str:
    from auditor.targets import POLICY_TARGETS

    chosen = _setting(ctx, "target", target, config, "target", target)
    if chosen not in POLICY_TARGETS:
        _fail(f"{config.path}: unknown target {chosen!r} (known: {', '.join(POLICY_TARGETS)})")
    return str(chosen)


def _setting(ctx: click.Context, name: str, value: Any, config: Any, key: str, default: Any) -> Any:
    """VALUE when given on the command line, else the config file's KEY, else DEFAULT."""
    if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
        return value
    return config.option(key, default)


# --- the commands ------------------------------------------------------------------------------------------------

@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "-V", "--version", prog_name="regaudit")
def main() -> None:
    """Find the registries and domains an organization needs; propose and audit allowlists.

    Output is plain text (no colour, whatever NO_COLOR says); progress bars go to standard error on a terminal
    only.
    """


@main.command(epilog=EXIT_CODES_HELP)
@evidence_options
@engine_options
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@output_option("-o", "--output", help="Write to a file, not stdout.")
def discover(inputs: tuple[str, ...], assignments: tuple[str, ...], env_files: tuple[Path, ...],
             forced_kind: str | None, strict: bool, config_path: Path | None, quiet: bool, no_progress: bool,
             output_format: str, output: str | None) -> None:
    """What the inputs reference, observe, redirect to and were blocked from."""
    from auditor.pipeline.outputs import write_output
    from reports.discover import render_json_pieces, render_table

    with _exits():
        _config(config_path)  # a broken config file is an error here too
        store = load_evidence(inputs, assignments, env_files, forced_kind, progress=not (quiet or no_progress))
        text = render_json_pieces(store) if output_format == "json" else render_table(store)
        write_output(text, output, "discover output")
    sys.exit(input_exit_code(store, strict))


@main.command(epilog=EXIT_CODES_HELP)
@window_options
@evidence_options
@engine_options
@click.option("--budget", type=click.IntRange(min=1), default=100, show_default=True,
              help="Maximum number of entries (Docker Desktop RAM: 100).")
@click.option("--match", "match_mode", type=click.Choice(["suffix", "exact"]), default="suffix", show_default=True,
              help="suffix: an entry also allows its subdomains; exact: only that name.")
@click.option("--count-docker-hub-default/--no-count-docker-hub-default", default=False, show_default=True,
              help="Count RAM's built-in Docker Hub entry toward the budget (undocumented either way).")
@click.option("--format", "output_format", type=click.Choice(["text", "csv", "json", "squid", "hadolint", "native"]),
              default="text", show_default=True, help="native: the --target's own configuration (see `export`).")
@target_option("The enforcement point whose semantics apply (docs/targets/).")
@output_option("-o", "--output", help="Write to a file, not stdout.")
@click.pass_context
def propose(ctx: click.Context, inputs: tuple[str, ...], assignments: tuple[str, ...], env_files: tuple[Path, ...],
            forced_kind: str | None, strict: bool, config_path: Path | None, quiet: bool, no_progress: bool,
            budget: int, match_mode: str, count_docker_hub_default: bool, output_format: str, target: str,
            output: str | None, **window: Any) -> None:
    """Propose the fewest, narrowest allowlist entries covering every required host."""
    from auditor.core.allowlist import MatchMode
    from auditor.decisions.analysis import analyse
    from auditor.pipeline.outputs import write_output
    from auditor.pipeline.store_commands import merge_store_window
    from reports.proposal import render_proposal

    with _exits():
        config = _config(config_path)
        budget = _setting(ctx, "budget", budget, config, "budget", 100)
        match_mode = _setting(ctx, "match_mode", match_mode, config, "match", "suffix")
        target = _target(ctx, target, config)
        store = load_evidence(inputs, assignments, env_files, forced_kind, progress=not (quiet or no_progress))
        merge_store_window(store, inputs=inputs, configured=config.option("store"), **window)
        analysis = analyse(store, budget=budget, mode=MatchMode(match_mode),
                           count_docker_hub_default=count_docker_hub_default, target=target)
        analysis.graph = None  # no proposal format reads the redirect graph: its 10^5 edges' memory serves the text
        write_output(render_proposal(analysis, output_format, target), output, "proposal")
    sys.exit(input_exit_code(store, strict))


@main.command(epilog=EXIT_CODES_HELP)
@window_options
@evidence_options
@engine_options
@click.option("--allowlist", "allowlist_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="The allowlist to audit: one host a line, CSV, JSON or Squid acl lines; `-` for standard input.")
@click.option("--org", "orgs", multiple=True, metavar="NAME",
              help="A Docker Hub namespace of your organization (Image Access Management); repeatable.")
@click.option("--budget", type=click.IntRange(min=1), default=100, show_default=True,
              help="Maximum number of entries (Docker Desktop RAM: 100).")
@click.option("--match", "match_mode", type=click.Choice(["suffix", "exact"]), default="suffix", show_default=True,
              help="suffix: an entry also allows its subdomains; exact: only that name.")
@click.option("--count-docker-hub-default", is_flag=True,
              help="Count RAM's built-in Docker Hub entry toward the budget.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "sarif", "md"]), default="text",
              show_default=True, help="What to print on standard output (text: the summary).")
@output_option("--html", "html_out", help="Write the HTML report.")
@output_option("--json", "json_out", help="Write the JSON report.")
@output_option("--csv", "csv_out", help="Write findings as CSV.")
@output_option("--sarif", "sarif_out", help="Write SARIF 2.1.0.")
@output_option("--md", "md_out", help="Write a Markdown summary.")
@click.option("--fail-on", "fail_on", metavar="KINDS",
              help="Exit 1 when a finding of these kinds or severities is found and not accepted: comma-separated "
                   "(missing,over-broad,... or error,warning,note) or any.")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A previous `audit --json` report: its findings are accepted (by key), so --fail-on counts only "
                   "new ones.")
@target_option("Read the allowlist with this enforcement point's semantics (docs/targets/).")
@click.pass_context
def audit(ctx: click.Context, inputs: tuple[str, ...], assignments: tuple[str, ...], env_files: tuple[Path, ...],
          forced_kind: str | None, strict: bool, config_path: Path | None, quiet: bool, no_progress: bool,
          allowlist_path: str, orgs: tuple[str, ...], budget: int, match_mode: str, count_docker_hub_default: bool,
          output_format: str, html_out: str | None, json_out: str | None, csv_out: str | None,
          sarif_out: str | None, md_out: str | None, fail_on: str | None, baseline_path: Path | None,
          target: str, **window: Any) -> None:
    """Audit an existing allowlist against what the inputs need; write reports."""
    from auditor.core.allowlist import EntryKind, MatchMode
    from auditor.decisions.acceptance import failing
    from auditor.decisions.audit import AuditOptions
    from auditor.pipeline.audit_run import (
        Acceptances,
        command_line,
        parse_fail_on,
        run_audit,
        summary_text,
        write_reports,
    )
    from auditor.pipeline.store_commands import add_period, merge_store_window

    with _exits():
        config = _config(config_path)
        budget = _setting(ctx, "budget", budget, config, "budget", 100)
        match_mode = _setting(ctx, "match_mode", match_mode, config, "match", "suffix")
        orgs = _setting(ctx, "orgs", orgs, config, "org", ())
        fail_on = _setting(ctx, "fail_on", fail_on, config, "fail-on", None)
        try:
            fail = parse_fail_on(fail_on)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--fail-on") from None
        outputs = {"html": html_out, "json": json_out, "csv": csv_out, "sarif": sarif_out, "md": md_out}
        if output_format != "text":
            outputs[output_format] = outputs[output_format] or "-"
        if sum(1 for target in outputs.values() if target == "-") > 1:
            raise click.UsageError("only one report can go to standard output ('-')")
        target = _target(ctx, target, config)
        options = AuditOptions(MatchMode(match_mode), budget, count_docker_hub_default, tuple(orgs), target)
        allowlist, allowlist_errors, allowlist_sha = _read_allowlist(allowlist_path, options.enforcement())
        acceptances = Acceptances(rules=config.ignore, **_baseline(baseline_path))
        extra = [w for a in assignments for w in ("--set", a)] + [w for e in env_files for w in ("--env-file", str(e))]
        extra += ["--kind", forced_kind] if forced_kind else []
        extra += [w for v in _values_files() for w in ("--values", str(v))]
        extra += ["--baseline", str(baseline_path)] if baseline_path else []
        store = load_evidence(inputs, assignments, env_files, forced_kind, hash_inputs=True,
                              progress=not (quiet or no_progress))
        chosen = merge_store_window(store, inputs=inputs, configured=config.option("store"),
                                    covered=[e.address for e in allowlist if e.kind is EntryKind.HOST], **window)
        result = run_audit(store, allowlist, allowlist_errors, allowlist_sha, options,
                           command_line(inputs, allowlist_path, options, outputs, fail_on, strict, extra), acceptances)
        add_period(result, chosen)
        for error in allowlist_errors:
            click.echo(f"regaudit: error: {_one_line(str(error))}", err=True)
        # the document says all the reports need: the decisions' records (the redirect graph and 10^5 required
        # hosts in a fleet, about 100 MB) and the evidence itself are let go before the reports are made, not
        # held beside them
        code = input_exit_code(store, strict)
        result.analysis = store = None
        result.outputs = write_reports(result.document, outputs)
    if not quiet:
        # the summary goes to stderr when a report takes standard output
        click.echo(summary_text(result), nl=False, err="-" in outputs.values())
    if code == EXIT_OK and strict and allowlist_errors:
        code = EXIT_USAGE_OR_STRICT
    if code == EXIT_OK and failing(result.findings, fail.kinds, fail.severities):
        code = EXIT_POLICY
    sys.exit(code)


def _read_allowlist(name: str, target: Any) -> tuple[Any, list[Any], str]:
    """The allowlist from NAME (`-`: standard input) as TARGET reads it, its line errors and its SHA-256; _Abort
    when it cannot be audited at all (missing, unreadable, binary, no valid entry)."""
    import hashlib

    from auditor.core.allowlist import MAX_ALLOWLIST_BYTES, read_allowlist_bytes
    from auditor.targets.base import Target

    own_reader = type(target).read is not Target.read  # a native format (RPZ zone, admission prefixes ...)
    if name == "-":
        if own_reader:
            _fail(f"--allowlist -: the {target.name} target reads its native format from a file; name the file")
        raw, display, suffix = sys.stdin.buffer.read(MAX_ALLOWLIST_BYTES + 1), "<stdin>", ""
    else:
        path = Path(name)
        if not path.exists():
            _fail(f"{name}: allowlist not found")
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_ALLOWLIST_BYTES + 1)
        except OSError as exc:
            _fail(f"{name}: cannot read the allowlist: {exc.strerror or exc}")
        display, suffix = name, path.suffix.lower()
    allowlist, errors = target.read(Path(name)) if own_reader else read_allowlist_bytes(raw, display, suffix)
    if not allowlist.entries:
        if not errors:
            _fail(f"{display}: the allowlist has no entry")
        if len(errors) == 1:
            _fail(str(errors[0]))
        _fail(f"{display}: the allowlist has no valid entry ({len(errors)} problems; the first: {errors[0]})")
    return allowlist, errors, hashlib.sha256(raw[:MAX_ALLOWLIST_BYTES]).hexdigest()


def _baseline(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    from auditor.decisions.diff import DiffError, load_audit

    try:
        document = load_audit(path)
    except DiffError as exc:
        _fail(f"--baseline {exc}")
    keys = frozenset(str(f["key"]) for f in document["findings"] if isinstance(f, dict) and "key" in f)
    return {"baseline": keys, "baseline_name": str(path)}


@main.command("diff", epilog=EXIT_CODES_HELP)
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@output_option("-o", "--output", help="Write to a file, not stdout.")
@click.option("--fail-on-new", "fail_on_new", metavar="KINDS",
              help="Exit 1 when NEW has findings of these kinds or severities that OLD had not: comma-separated "
                   "(missing,... or error,warning,note) or any.")
def diff_command(old: Path, new: Path, output_format: str, output: str | None, fail_on_new: str | None) -> None:
    """What changed between two `audit --json` reports: entries added/removed, findings new/resolved."""
    import json

    from auditor.decisions.diff import DiffError, diff_audits, diff_dict, load_audit, render_text
    from auditor.pipeline.audit_run import parse_fail_on
    from auditor.pipeline.outputs import write_output

    try:
        fail = parse_fail_on(fail_on_new)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fail-on-new") from None
    with _exits():
        try:
            diff = diff_audits(load_audit(old), load_audit(new), str(old), str(new))
        except DiffError as exc:
            _fail(str(exc))
        text = json.dumps(diff_dict(diff), indent=2, ensure_ascii=False) + "\n" if output_format == "json" \
            else render_text(diff)
        write_output(text, output, "diff")
    new_failing = [f for f in diff.findings_new
                   if not f.get("accepted") and (f.get("kind") in fail.kinds or f.get("severity") in fail.severities)]
    sys.exit(EXIT_POLICY if new_failing else EXIT_OK)


@main.command("trace", epilog=EXIT_CODES_HELP)
@click.argument("images", nargs=-1, required=True)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds per request (connect and each read).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trust this CA bundle too (private registries).")
@click.option("--insecure", is_flag=True, help="Do not verify TLS certificates.")
@click.option("--plain-http", is_flag=True, help="Talk to the registries over http://, not https://.")
@click.option("--max-redirects", type=click.IntRange(1, 20), default=5, show_default=True)
@output_option("-o", "--output", help="Write to a file, not stdout.")
def trace_command(images: tuple[str, ...], timeout: float, output_format: str, ca_file: Path | None, insecure: bool,
                  plain_http: bool, max_redirects: int, output: str | None) -> None:
    """Live probe: the hosts a pull of each IMAGE really contacts (API, token realm, blob redirects).

    Reads headers only: no blob body is downloaded. Proxy settings (HTTPS_PROXY, NO_PROXY) are honoured.
    Exit code 0 if every image was traced, 2 if any failed (each failure is reported; the others still run).
    `--format json` output can be given back to discover/propose/audit as an input.
    """
    from auditor.pipeline.outputs import write_output
    from auditor.probe.trace import TraceOptions, trace_image
    from reports.trace import render_json, render_text

    options = TraceOptions(timeout=timeout, insecure=insecure, plain_http=plain_http, ca_file=ca_file,
                           max_redirects=max_redirects)
    results = [trace_image(image, options) for image in images]
    for result in results:
        if result.error:
            click.echo(f"regaudit: trace {_one_line(result.image)}: {_one_line(result.error)}", err=True)
    with _exits():
        write_output(render_json(results) if output_format == "json" else render_text(results), output,
                     "trace output")
    sys.exit(EXIT_OK if all(r.ok for r in results) else EXIT_USAGE_OR_STRICT)


def _register_commands() -> None:
    """Commands that live in modules of their own (auditor/commands/)."""
    from auditor.commands.export import export_command
    from auditor.commands.simulate import simulate_command
    from auditor.pipeline.store_commands import history_command, ingest_command, store_group

    main.add_command(export_command)
    main.add_command(simulate_command)
    main.add_command(ingest_command)
    main.add_command(history_command)
    main.add_command(store_group)


_register_commands()

from auditor.pipeline.store_commands import history_command, ingest_command, store_group  # noqa: E402

main.add_command(ingest_command)
main.add_command(history_command)
main.add_command(store_group)


if __name__ == "__main__":  # pragma: no cover
    main()
