"""The ground floor: the evidence currency every other package trades in.

model (evidence records), evidence (the per-run fold of them), reference (Docker image-reference grammar),
allowlist (the allowlist under audit and its readers) and trace_record (what one live probe found).
Imports nothing from regaudit but itself and `auditor.__version__`."""
