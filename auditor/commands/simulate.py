"""`regaudit simulate`: the allowlist run on the real engine (Squid, Unbound) on loopback, next to the audit.

Exit codes: 0 the engine agrees with the static audit on every replayed host; 1 a disagreement (a bug in
the static matcher or in the engine's reading: itself a finding); 2 usage error, or the engine is missing,
refused its configuration, or did not start.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.commands.evidence import printable

EXIT_AGREE, EXIT_DISAGREE, EXIT_ENGINE = 0, 1, 2


@click.command("simulate")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--target", required=True, type=click.Choice(["proxy", "dns"]),
              help="proxy: Squid; dns: Unbound with the RPZ export.")
@click.option("--allowlist", "allowlist_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The allowlist (a Squid configuration's acl/http_access lines are run as written).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file, not stdout.")
def simulate_command(inputs: tuple[str, ...], target: str, allowlist_path: Path, output_format: str,
                     output: Path | None) -> None:
    """Start the real engine on 127.0.0.1, replay what the evidence needs, compare with the static audit."""
    from auditor.commands.evidence import read_evidence
    from auditor.decisions.analysis import analyse
    from auditor.decisions.audit import AuditOptions
    from auditor.simulate.engines import EngineError
    from auditor.simulate.report import render_json, render_text
    from auditor.simulate.run import simulate
    from auditor.targets import target_named

    if not allowlist_path.is_file():
        raise click.BadParameter(f"{allowlist_path}: no such file", param_hint="--allowlist")
    enforcement = target_named(target)
    allowlist, errors = enforcement.read(allowlist_path)
    for error in errors:
        click.echo(f"regaudit: error: {printable(str(error))}", err=True)
    store = read_evidence(inputs)
    analysis = analyse(store, allowlist=allowlist, target=target)
    text = allowlist_path.read_text(encoding="utf-8", errors="replace")
    try:
        result = simulate(analysis, allowlist, text, AuditOptions(target=target), enforcement)
    except EngineError as exc:
        click.echo(f"regaudit: simulate: {printable(str(exc))}", err=True)
        sys.exit(EXIT_ENGINE)
    rendered = render_json(result) if output_format == "json" else render_text(result)
    if output is None:
        click.echo(rendered, nl=False)
    else:
        output.write_text(rendered, encoding="utf-8")
    for host in result.disagreements:
        click.echo(f"regaudit: simulate: disagreement on {printable(host.host)}", err=True)
    sys.exit(EXIT_DISAGREE if result.disagreements else EXIT_AGREE)

