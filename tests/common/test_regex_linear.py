"""Every rewritten regular expression stays linear on the adversarial line that made it backtrack.

Measured as growth, not as a wall-clock bound: the CPU time on a line 8 times longer must stay within 25 times
the time on the short one (floor 2 ms, so timer noise on tiny runs cannot fail it). Linear work grows about 8
times; the quadratic patterns these replaced grew 64 times (cubic ones more), so the check has a wide margin
either way. The short line is long enough (4,000+ characters) that a quadratic pattern already costs
milliseconds on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from parsers.common import image_text
from parsers.logs.dns import windows_dns
from parsers.repo import dockerfile, dockerfile_lexer, helm_values, kubernetes, shell
from parsers.repo.ci import azure_pipelines, github_actions, jenkinsfile

FLOOR = 0.002
GROWTH = 25
WIN_PREFIX = "5/1/2024 10:00:01 AM 0D48 PACKET  000000000181D1C0 UDP Rcv 10.0.0.5        0c6b   Q "


def cpu_seconds(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


CASES: dict[str, tuple[Callable[[str], object], Callable[[int], str]]] = {
    # the two: 60 KB took 20 s (Windows DNS), and every `{{` rescanned the rest (Helm values, Kubernetes)
    "windows_dns packet: capitals in the flags": (windows_dns._PACKET.match, lambda n: WIN_PREFIX + "[0001 " + "A" * n),
    "windows_dns packet: spaces in the flags": (windows_dns._PACKET.match, lambda n: WIN_PREFIX + "[0001" + " " * n),
    "windows_dns packet: words in the flags": (windows_dns._PACKET.match, lambda n: WIN_PREFIX + "[0001" + " A" * n),
    "go template: openers, no closer": (image_text._GO_TEMPLATE.search, lambda n: "{{" * n),
    "go template: one opener, braces": (image_text._GO_TEMPLATE.search, lambda n: "{{ " + "{ " * n),
    "github expression: spaces": (github_actions._EXPRESSION_RE.search, lambda n: "${{ a" + " " * n + "b"),
    "github expression: openers": (github_actions._EXPRESSION_RE.search, lambda n: "${{" * n),
    "azure unknown: $[ openers": (azure_pipelines._UNKNOWN_RE.search, lambda n: "$[" * n),
    "azure unknown: ${{ openers": (azure_pipelines._UNKNOWN_RE.search, lambda n: "${{" * n),
    "shell CI expression: openers": (shell._CI_EXPRESSION_RE.search, lambda n: "${{" * n),
    "groovy expression: openers": (jenkinsfile._GROOVY_EXPR_RE.search, lambda n: "${" * n),
    "jenkins detection: empty lines": (jenkinsfile._PIPELINE_RE.search, lambda n: ("\n" * n).encode()),
    "jenkins YAML image: empty lines": (jenkinsfile._YAML_IMAGE_RE.search, lambda n: "\n" * n),
    "helm values detection: a long key": (helm_values._CONTENT_RE.search, lambda n: ("image" * n).encode()),
    "helm values detection: dashes": (helm_values._CONTENT_RE.search, lambda n: ("-" * n).encode()),
    "kubernetes image line: spaced words": (kubernetes._IMAGE_LINE.match, lambda n: "image: " + " a" * n + " x"),
    "kubernetes image line: trailing blanks": (kubernetes._IMAGE_LINE.match, lambda n: "image: x" + " " * n + "y"),
    "dockerfile directive: inner blanks": (dockerfile_lexer._DIRECTIVE_RE.match, lambda n: "a=x" + " " * n + "y "),
    "dockerfile quoted word: quotes": (dockerfile._QUOTED_WORD_RE.match, lambda n: "${a:-" + "'" * n + "x"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_pattern_is_linear_on_its_adversarial_line(name: str) -> None:
    apply, build = CASES[name]
    short, long = build(4_000), build(32_000)
    small = cpu_seconds(lambda: apply(short))
    large = cpu_seconds(lambda: apply(long))
    assert large <= GROWTH * max(small, FLOOR), f"{name}: {small * 1e3:.2f} ms -> {large * 1e3:.2f} ms"


def test_the_rewrites_still_read_real_lines() -> None:
    line = WIN_PREFIX + "[8081   DR  NXDOMAIN] A      (4)ghcr(2)io(0)"
    match = windows_dns._PACKET.match(line)
    assert match is not None and match["rcode"] == "NXDOMAIN" and match["qname"] == "(4)ghcr(2)io(0)"
    no_flags = windows_dns._PACKET.match(line.replace("[8081   DR  NXDOMAIN]", "[0001       NOERROR]"))
    assert no_flags is not None and no_flags["rcode"] == "NOERROR"  # the old pattern read rcode "R" here
    assert image_text._GO_TEMPLATE.search("repo/{{ .Values.name }}:1")
    assert [m.group(1).strip() for m in github_actions._EXPRESSION_RE.finditer("${{ env.A }}-${{matrix.b}}")] == \
        ["env.A", "matrix.b"]
    assert [m.group(0) for m in azure_pipelines._UNKNOWN_RE.finditer("$[ a ] ${{ b }} $(c)")] == \
        ["$[ a ]", "${{ b }}", "$(c)"]
    assert [m.group(0) for m in jenkinsfile._GROOVY_EXPR_RE.finditer("${a} ${params.b} ${c ?: 'd'}")] == \
        ["${params.b}", "${c ?: 'd'}"]
    assert [kubernetes._IMAGE_LINE.match(t).group(1) for t in  # type: ignore[union-attr]
            ("  image: nginx:1.2  # pinned", "- image: a#b", "image: x # y z")] == ["nginx:1.2", "a#b", "x"]
    assert dockerfile_lexer._DIRECTIVE_RE.match("syntax = docker/dockerfile:1  ").group(2) == \
        "docker/dockerfile:1"  # type: ignore[union-attr]
    assert dockerfile._QUOTED_WORD_RE.match("${A:-'x'}").group(3) == "'x'"  # type: ignore[union-attr]
    assert jenkinsfile._PIPELINE_RE.search(b"\n\n  pipeline {\n")
    assert helm_values._CONTENT_RE.search(b"  - imageRepository: x\n")
