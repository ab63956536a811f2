"""The state of a developer machine: daemon.json, ~/.docker/config.json, `docker images` output."""
