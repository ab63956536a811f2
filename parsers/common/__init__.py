"""Machinery every parser family shares: input files and decompression, the safe YAML loader, JSON with
positions, variable interpolation, .env files, host-name checks and image-value text. Not parsers themselves."""
