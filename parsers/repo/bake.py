"""Docker Buildx Bake files (`docker-bake.hcl`, `docker-bake.json`, `docker-bake.override.hcl`, `*.bake.hcl`):
the images every target pulls, pushes and caches to.

What is a reference (context in brackets), for every target (CI may bake any of them, not only `default`):
- `tags` (`target.NAME.tags (pushed)`): the names the build pushes to;
- `contexts` values `docker-image://REF` (`target.NAME.contexts.KEY`): a named context pulled from a registry;
  `target:OTHER` and local paths are not pulls;
- `cache-from` / `cache-to` `type=registry,ref=REF` (or a bare REF) (`target.NAME.cache-from`);
- the target's Dockerfile (`context` + `dockerfile`, relative to the bake file; or `dockerfile-inline`), read by
  parsers/repo/dockerfile.py with the target's `args`, `target` (default: the last stage) and its named
  `contexts`: a `FROM` or `COPY --from=` naming a context is that context, not an image.
`inherits` is followed (parents first, the target's own attributes last; maps merged, lists replaced). Variables
come from `variable "X" { default = ... }`, overridden by `--set X=VALUE` (bake reads them from the environment).
Expressions are evaluated by parsers/repo/bake_expr.py, never executed: `${}` interpolation, operators and
conditionals, `for` expressions, user `function` blocks and the pure functions of bake's standard library
(`join`, `format`, `replace`, `split`, `coalesce`, `notequal` ...). What only the build can know (`timestamp()`,
Go regular expressions, another target's attributes) leaves the reference Unresolved with the text as far as
it is known (`ghcr.io/acme/app:${timestamp()}`), so the registry is still named when that text decides it. A
build arg whose value stays unknown is passed to the Dockerfile as far as it is known (never replaced by the
ARG's default): a `FROM ${BASE}` made of it is Unresolved with the arg's reason, a partial reference when the
known part names the registry. `ARG = null` is not passed, as bake does. The HCL reader covers what bake files use
(blocks, attributes, strings with `${}`, lists, objects, comments, heredocs, HCL's expression grammar); a syntax
error is an InputError naming its line, and the blocks read before it are still used.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

from auditor.core.model import Evidence, Unresolved
from parsers.common.image_text import image_record
from parsers.common.inputs import MAX_CONFIG_BYTES, InputFile, ParseContext, decode_text, read_config_text
from parsers.repo.bake_file import (
    BAKE_NAME_RE,
    BakeProject,
    Block,
    Expr,
    Value,
    evaluate,
    evaluate_items,
    read_blocks,
    shown_text,
)
from parsers.repo.dockerfile import LAST_STAGE, extract_dockerfile

NAME = "bake"

_REMOTE_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)

# -- the parser ------------------------------------------------------------------------------------------------

def detect(inp: InputFile) -> bool:
    return bool(BAKE_NAME_RE.match(inp.name))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME)
    yield from errors
    if text is None:
        return
    ctx.advance(inp.size)
    blocks, error, error_line = read_blocks(text, inp.name.lower().endswith(".json"))
    if error:
        yield inp.error(f"{error}; the blocks before it are still used", line=error_line, parser=NAME)
    yield from _Bake(inp, ctx, blocks).references()


class _Bake:
    def __init__(self, inp: InputFile, ctx: ParseContext, blocks: list[Block]) -> None:
        self.inp = inp
        self.project = BakeProject(blocks, ctx.variables)
        self.variables = self.project.variables
        self.targets = self.project.targets
        self.base = inp.path.parent if inp.display != "<stdin>" else Path.cwd()
        self.display_base = str(Path(inp.display).parent) if inp.display != "<stdin>" else ""

    def references(self) -> Iterator[Evidence]:
        for name in self.targets:
            attributes, problem = self.project.resolved(name)
            label = f"target.{name}"
            if problem:
                yield self.inp.error(f"{label}: {problem}", line=self.targets[name].line, parser=NAME)
            yield from self.images(label, attributes)

    def images(self, label: str, attributes: dict[str, Expr]) -> Iterator[Evidence]:
        for expr, value in evaluate_items(attributes.get("tags"), self.variables):
            yield from self.reference(expr, f"{label}.tags (pushed)", value)
        named: list[str] = []
        contexts = attributes.get("contexts")
        if contexts is not None and contexts.kind == "object":
            for key, value in contexts.value.items():
                named.append(key)
                resolved = evaluate(value, self.variables)
                if resolved.text is not None and resolved.text.startswith("docker-image://"):
                    yield self.record(resolved.text.removeprefix("docker-image://"), resolved.line,
                                      f"{label}.contexts.{key}")
                elif resolved.text is None:
                    yield Unresolved(shown_text(value, resolved).removeprefix("docker-image://"), resolved.why,
                                     self.inp.source(resolved.line, parser=NAME), f"{label}.contexts.{key}")
        for key in ("cache-from", "cache-to"):
            for entry, value in evaluate_items(attributes.get(key), self.variables):
                yield from self.cache(entry, f"{label}.{key}", value)
        yield from self.dockerfile(label, attributes, named)

    def reference(self, expr: Expr, context: str, value: Value | None = None) -> Iterator[Evidence]:
        value = value or evaluate(expr, self.variables)
        if value.text is None:
            yield Unresolved(shown_text(expr, value), value.why, self.inp.source(value.line, parser=NAME), context)
        elif value.text.strip():
            yield self.record(value.text.strip(), value.line, context)

    def record(self, text: str, line: int, context: str) -> Evidence:
        return image_record(text, self.inp.source(line, parser=NAME), context, None)

    def cache(self, expr: Expr, context: str, value: Value) -> Iterator[Evidence]:
        if expr.kind == "object":  # the newer object form: {type = "registry", ref = "..."}
            kind = evaluate(expr.value["type"], self.variables).text if "type" in expr.value else "registry"
            if kind == "registry" and "ref" in expr.value:
                yield from self.reference(expr.value["ref"], context)
            return
        if value.text is None:
            yield Unresolved(shown_text(expr, value), value.why, self.inp.source(value.line, parser=NAME), context)
            return
        fields = dict(part.split("=", 1) for part in value.text.split(",") if "=" in part)
        if "=" not in value.text:
            fields = {"type": "registry", "ref": value.text}
        if fields.get("type", "registry") == "registry" and fields.get("ref", "").strip():
            yield self.record(fields["ref"].strip(), value.line, context)

    def dockerfile(self, label: str, attributes: dict[str, Expr], named: list[str]) -> Iterator[Evidence]:
        args: dict[str, str] = {}
        unknown: dict[str, Value] = {}
        raw_args = attributes.get("args")
        if raw_args is not None and raw_args.kind == "object":
            for key, value in raw_args.value.items():
                resolved = evaluate(value, self.variables)
                if resolved.null:
                    continue  # `ARG = null`: not passed, the Dockerfile's default applies
                if resolved.text is not None:
                    args[key] = resolved.text
                else:  # passed as far as it is known, so the ARG default does not stand in for it
                    args[key] = shown_text(value, resolved) if resolved.shown else "${" + key + "}"
                    unknown[key] = resolved
        yield from (self._explained(record, args, unknown) for record in self._dockerfile(label, attributes, named,
                                                                                            args))

    @staticmethod
    def _explained(record: Evidence, args: dict[str, str], unknown: dict[str, Value]) -> Evidence:
        """A FROM made of a build arg bake computes names that arg's reason, not a grammar error."""
        if not isinstance(record, Unresolved) or not unknown:
            return record
        reasons = [f"build arg {key}: {value.why}" for key, value in unknown.items() if args[key] in record.text]
        return dataclasses.replace(record, reason="; ".join(reasons)) if reasons else record

    def _dockerfile(self, label: str, attributes: dict[str, Expr], named: list[str], args: dict[str, str]
                    ) -> Iterator[Evidence]:
        stage = attributes.get("target")
        stage_name = evaluate(stage, self.variables).text if stage is not None else None
        target = stage_name or LAST_STAGE
        prefix = label
        inline = attributes.get("dockerfile-inline")
        if inline is not None:
            value = evaluate(inline, self.variables)
            if value.text is not None:
                yield from extract_dockerfile(value.text, self.inp.display, args, target, NAME, prefix,
                                              line_offset=value.line, named_contexts=named)
            return
        context_expr = attributes.get("context")
        context = evaluate(context_expr, self.variables).text if context_expr is not None else "."
        file_expr = attributes.get("dockerfile")
        dockerfile = evaluate(file_expr, self.variables).text if file_expr is not None else "Dockerfile"
        if context is None or dockerfile is None:
            return  # the context or file name is not known: nothing to read
        named_file = context_expr is not None or file_expr is not None
        if _REMOTE_RE.match(context):
            return  # a remote context is fetched by BuildKit, not read offline
        path = Path(dockerfile) if Path(dockerfile).is_absolute() else self.base / context / dockerfile
        display = str(Path(self.display_base) / context / dockerfile) if self.display_base else str(
            Path(context) / dockerfile)
        display = display.removeprefix("./")
        try:
            if path.stat().st_size > MAX_CONFIG_BYTES:
                yield self.inp.error(f"{label}: {display} is over the size limit; not read", parser=NAME)
                return
            text = decode_text(path.read_bytes())[0]
        except OSError as exc:
            if not named_file:
                return  # a target that only serves as a parent (`inherits`) has no Dockerfile of its own
            line = file_expr.line if file_expr is not None else self.targets[label.split(".", 1)[1]].line
            yield self.inp.error(f"{label}: cannot read its Dockerfile {display}: {exc.strerror or exc}", line=line,
                                 parser=NAME)
            return
        yield from extract_dockerfile(text, display, args, target, NAME, prefix, named_contexts=named)

