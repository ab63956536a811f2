"""Shell semantics: command substitutions, quoted flag values, ${V:-'x'}, loops, jq inside $( ), --pull=never."""

from __future__ import annotations

from auditor.core.model import ImageReference, InputError, Unresolved
from parsers.repo import shell
from tests.conftest import FIXTURES, run_parser


def test_shell_semantics_of_real_scripts() -> None:
    records = run_parser(shell.parse, FIXTURES / "repo/shell/semantics.sh")
    assert not [r for r in records if isinstance(r, (InputError, Unresolved))]
    assert [(r.canonical, r.source.line) for r in records if isinstance(r, ImageReference)] == [
        ("docker.io/library/redis:7.2", 3),  # inside $( )
        ("docker.io/library/alpine:3.20", 4),  # inside backquotes
        ("docker.io/library/busybox:1.36", 5),  # $( ) inside double quotes
        ("docker.io/library/debian:12", 6),  # --name="mint-${MODE}" is a flag value, not the image
        ("docker.io/library/ubuntu:24.04", 7),
        ("docker.io/library/nginx:1.27", 9),  # ${V:-'1.27'} loses its quotes
        ("docker.io/library/python:3.12-slim", 11),  # one pull per loop value
        ("docker.io/library/python:3.12-alpine", 11),
        ("docker.io/library/postgres:16", 14),  # an unquoted $LIST splits into words
        ("docker.io/library/postgres:17", 14),
        ("quay.io/example/after-jq:1", 16),  # the jq program with a quoted ")" did not swallow the rest
        ("ghcr.io/example/fresh:1", 19),  # --pull=never / --pull never: no registry pull
    ]


def test_an_unknown_loop_list_stays_unresolved() -> None:
    records = list(shell.scan_script('for x in $UNKNOWN; do docker pull "repo/$x"; done\n', 1,
                                     lambda line: shell.Source("t.sh", line), {}.get))
    assert [(type(r), r.text) for r in records] == [(Unresolved, "repo/$x")]
