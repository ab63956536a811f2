"""The evidence of INPUT... for the commands in this package (auditor/cli.py imports them, not the reverse)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # cli.py imports this package at start-up: the evidence model only when a command reads inputs
    from auditor.core.evidence import EvidenceStore


def read_evidence(inputs: tuple[str, ...]) -> EvidenceStore:
    """Collect INPUTS, printing one line per input error on stderr (the other inputs are still read)."""
    from auditor.pipeline.collect import CollectOptions, collect

    store = collect(inputs, CollectOptions(variables={}))
    for error in sorted(store.errors, key=lambda e: (e.source.path, e.source.line or 0, e.source.packet or 0)):
        click.echo(f"regaudit: error: {printable(str(error))}", err=True)
    return store


def printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
