"""The layering of docs/architecture.md, enforced: every import in auditor/, parsers/ and reports/ is read from
the source (module level, inside functions and under TYPE_CHECKING alike) and checked against the map.

A failure names the importing file, its line, and the rule it breaks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("auditor", "parsers", "reports")

# layer -> the layers it may import (itself included). Order: most specific prefix first.
LAYER_OF = (
    ("auditor.core", "core"),
    ("auditor.knowledge", "knowledge"),
    ("auditor.decisions", "decisions"),
    ("auditor.targets", "targets"),
    ("auditor.simulate", "simulate"),
    ("auditor.probe", "probe"),
    ("auditor.store", "store"),
    ("auditor.pipeline", "pipeline"),
    ("auditor.cli", "cli"),
    ("auditor.commands", "cli"),
    ("auditor.__main__", "cli"),
    ("auditor", "core"),  # the package itself: only __version__
    ("parsers.common", "parser-common"),
    ("parsers", "parsers"),
    ("reports", "reports"),
)
ALLOWED = {
    "core": {"core"},
    "knowledge": {"core", "parser-common", "knowledge"},  # the knowledge base is read with the safe YAML loader
    "parser-common": {"core", "parser-common"},
    "parsers": {"core", "parser-common", "parsers"},
    "targets": {"core", "targets"},  # each enforcement point's semantics and native formats
    "decisions": {"core", "knowledge", "targets", "decisions"},
    "simulate": {"core", "knowledge", "targets", "decisions", "simulate"},  # real engines on loopback
    "probe": {"core", "probe"},
    "store": {"core", "store"},  # evidence at rest: reads and writes core's records, nothing above
    "reports": {"core", "knowledge", "targets", "decisions", "reports"},
    "pipeline": {"core", "knowledge", "parser-common", "parsers", "targets", "decisions", "probe", "reports",
                 "store", "pipeline"},
    "cli": {"core", "knowledge", "parser-common", "parsers", "targets", "decisions", "simulate", "probe", "reports",
            "store", "pipeline", "cli"},
}


def layer(module: str) -> str | None:
    for prefix, name in LAYER_OF:
        if module == prefix or module.startswith(prefix + "."):
            return name
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import of a project module in PATH."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import submodule` imports the submodule
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append((node.lineno, candidate if _is_module(candidate) else base))
    return [(line, name) for line, name in found if name.split(".")[0] in PACKAGES]


def _is_module(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    assert [str(p) for p in sources() if layer(module_name(p)) is None] == []


def test_no_module_imports_a_layer_above_it() -> None:
    assert layering_violations() == []


def layering_violations() -> list[str]:
    broken = []
    for path in sources():
        own = layer(module_name(path))
        for line, imported in project_imports(path):
            target = layer(imported)
            if target is not None and target not in ALLOWED[own]:
                broken.append(f"{path.relative_to(ROOT)}:{line}: {own} imports {imported} ({target})")
    return broken


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for path in sources():
        name = module_name(path)
        graph[name] = {imp for _, imp in project_imports(path) if imp != name and imp in _all_modules()}
    # a package's __init__ importing its own children is registration, not a cycle
    assert import_cycles(graph) == []


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    return [c for c in _cycles(graph) if not all(m.startswith(min(c, key=len) + ".") or m == min(c, key=len)
                                                  for m in c)]


def test_the_cycle_check_finds_a_circle() -> None:
    graph = {"parsers.logs.dns.zeek": {"parsers.logs.dns.zeek_fast"},
             "parsers.logs.dns.zeek_fast": {"parsers.logs.dns.zeek"}}
    assert import_cycles(graph) == [["parsers.logs.dns.zeek", "parsers.logs.dns.zeek_fast"]]


def _all_modules() -> set[str]:
    return {module_name(p) for p in sources()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(("source", "rule"), [
    ("from auditor.decisions.audit import audit\n", "parsers imports auditor.decisions.audit (decisions)"),
    ("from reports.html import render_html\n", "parsers imports reports.html (reports)"),
])
def test_the_check_catches_a_parser_importing_upward(source: str, rule: str) -> None:
    """The rule is live: a parser module that imports a decision or a renderer is reported."""
    planted = ROOT / "parsers" / "repo" / "_layering_probe.py"
    planted.write_text(source, encoding="utf-8")
    try:
        assert any(v.endswith(rule) for v in layering_violations())
    finally:
        planted.unlink()


def test_the_check_catches_a_renderer_importing_a_parser() -> None:
    planted = ROOT / "reports" / "_layering_probe.py"
    planted.write_text("from parsers.repo import dockerfile\n", encoding="utf-8")
    try:
        assert any(v.endswith("reports imports parsers.repo.dockerfile (parsers)") for v in layering_violations())
    finally:
        planted.unlink()
