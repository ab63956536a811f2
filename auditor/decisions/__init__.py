"""What regaudit decides from the evidence: required hosts, redirect chains, the proposal, the audit.

Reads `auditor.core` and `auditor.knowledge`; never imports a parser, a renderer or the pipeline."""
