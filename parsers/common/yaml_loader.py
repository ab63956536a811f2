"""Safe YAML loading that remembers line numbers and refuses alias bombs.

Every string scalar comes back as `LineStr` (a str with `.line`), every mapping as `LineDict` (a dict
with `.line` and `.key_lines`). Loading is `SafeLoader`-based: no tags construct Python objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

try:  # libyaml is much faster; the pure loader gives the same results.
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader

# A document whose alias-expanded size exceeds this many nodes is an alias bomb ("billion laughs").
MAX_EXPANDED_NODES = 2_000_000


class LineStr(str):
    """A string scalar with the 1-based line it starts on."""

    line: int


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping with the 1-based line it starts on and the line of each key."""

    line: int
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class YamlBomb(ValueError):
    pass


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    pass


def _construct_str(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> LineStr:
    value = LineStr(loader.construct_scalar(node))
    value.line = node.start_mark.line + 1
    return value


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    yield mapping
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=False)
        try:
            hash(key)
        except TypeError:
            key = str(key)
        mapping[key] = loader.construct_object(value_node, deep=False)
        mapping.key_lines[key] = key_node.start_mark.line + 1


_LineLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)
_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
# YAML 1.2 has no `!!value` type: PyYAML resolves a plain `=` to it (a YAML 1.1 leftover) and then has no
# constructor for it, so `key: =` is a string, as every YAML 1.2 reader sees it.
_LineLoader.add_constructor("tag:yaml.org,2002:value", _construct_str)


class _RedefiningComposer(yaml.composer.Composer):
    """PyYAML's composer, except that an anchor name defined again names the later node (YAML 1.2: an alias
    refers to the most recent preceding node with that anchor) instead of failing the whole file.

    libyaml's composer lives in C and cannot be changed, so a document is composed here only after the fast
    loader refused it for a duplicate anchor: the common case keeps libyaml's speed."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        anchor = getattr(self.peek_event(), "anchor", None)
        if anchor is not None:
            self.anchors.pop(anchor, None)  # forget the earlier node: the later definition wins
        return super().compose_node(parent, index)


try:
    from yaml.cyaml import CParser as _FastEvents
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    class _FastEvents(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


class _RedefiningLoader(_FastEvents, _RedefiningComposer, yaml.constructor.SafeConstructor,  # type: ignore[misc]
                        yaml.resolver.Resolver):
    """libyaml's scanner and parser (events), composed in Python so that anchors may be redefined."""

    def __init__(self, stream: str) -> None:
        _FastEvents.__init__(self, stream)
        _RedefiningComposer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    # the pure-Python composer's state lives in attributes the C parser does not set up
    def get_node(self) -> yaml.Node | None:
        if not self.check_event(yaml.StreamEndEvent):
            return self.compose_document()
        return None

    def check_node(self) -> bool:
        if self.check_event(yaml.StreamStartEvent):
            self.get_event()
        return not self.check_event(yaml.StreamEndEvent)


_RedefiningLoader.yaml_constructors = _LineLoader.yaml_constructors


# Integer scalars longer than this stay strings: int() refuses 4,300+ digits with a ValueError that lost a
# whole file behind one value, and no field regaudit reads needs a number this long.
MAX_INT_CHARS = 100


def _construct_bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | LineStr:
    if len(node.value) > MAX_INT_CHARS:
        return _construct_str(loader, node)
    return loader.construct_yaml_int(node)  # type: ignore[no-any-return]


_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_bounded_int)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes the document would have with every alias expanded (merge keys included)."""
    cached = memo.get(id(node))
    if cached is not None:
        return cached
    memo[id(node)] = 1  # a recursive alias counts once instead of looping
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, memo)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            total += _expanded_size(key_node, memo) + _expanded_size(value_node, memo)
            if total > MAX_EXPANDED_NODES:
                break
    memo[id(node)] = total
    return total


# Older libyaml builds compose nested nodes recursively in C: some 30,000 nested `[`/`{` overflow the C stack and
# kill the process (SIGSEGV) before any Python error can be raised; newer ones (PyYAML 6.0.4's) refuse 1,000 levels
# with a scanner error of their own. Either way the depth is counted here, on the tokens of PyYAML's
# pure-Python scanner (which has no nesting limit), and refused below both, so the message and the outcome do not
# depend on the library's build. Block nesting needs growing indentation, so within MAX_CONFIG_BYTES it stays far
# below the crash depth.
MAX_FLOW_DEPTH = 500


def _flow_depth_exceeds(text: str, limit: int) -> bool:
    """True when flow collections nest deeper than LIMIT, counted on libyaml's own (non-recursive) tokens."""
    if text.count("[") + text.count("{") <= limit:
        return False  # cannot nest deeper than there are openers; the common case costs two counts
    depth = 0
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken)):
                depth += 1
                if depth > limit:
                    return True
            elif isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)):
                depth -= 1
    except yaml.YAMLError:
        return False  # the loader stops at the same token, before nesting any deeper than counted here
    return False


def load_documents(text: str) -> Iterator[Any]:
    """Yield each document of TEXT. Raises yaml.YAMLError (with a mark) or YamlBomb."""
    if _flow_depth_exceeds(text, MAX_FLOW_DEPTH):
        raise YamlBomb(f"YAML nested deeper than {MAX_FLOW_DEPTH} levels of [ or {{ (refused: it would crash the "
                       "YAML library)")
    done = 0
    try:
        for document in _load_with(_LineLoader, text):
            done += 1
            yield document
    except yaml.composer.ComposerError as exc:
        if "found duplicate anchor" not in str(exc):
            raise
        # valid YAML 1.2 that libyaml's composer refuses: compose again in Python, skipping what was yielded
        try:
            for position, document in enumerate(_load_with(_RedefiningLoader, text)):
                if position >= done:
                    yield document
        except RecursionError:
            raise YamlBomb("YAML nested too deeply to compose") from None


def _load_with(loader_class: type, text: str) -> Iterator[Any]:
    loader = loader_class(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if _expanded_size(node, {}) > MAX_EXPANDED_NODES:
                line = node.start_mark.line + 1
                raise YamlBomb(f"YAML aliases expand to over {MAX_EXPANDED_NODES} nodes (alias bomb) "
                               f"in the document starting at line {line}")
            yield loader.construct_document(node)
    finally:
        loader.dispose()


def yaml_error_line(error: yaml.YAMLError) -> int | None:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def yaml_error_text(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None)
    context = getattr(error, "context", None)
    parts = [p for p in (context, problem) if p]
    return "invalid YAML: " + (", ".join(parts) if parts else str(error).splitlines()[0])


def line_of(value: Any, default: int | None = None) -> int | None:
    """The line a loaded value starts on, when it carries one."""
    return getattr(value, "line", default)
