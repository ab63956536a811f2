"""Orchestration: walk the inputs through the parsers into the evidence store, run the decisions, write
reports. The only layer that joins parsers, decisions and renderers (with `auditor/cli.py` above it)."""
