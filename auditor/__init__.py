"""regaudit: find the container registries and domains an organization needs, and audit its allowlist."""

__version__ = "0.1.0"
