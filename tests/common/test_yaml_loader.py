"""The shared YAML loader: line numbers survive, unsafe tags are refused, alias bombs are stopped."""

import pytest
import yaml

from parsers.common.yaml_loader import LineDict, LineStr, YamlBomb, load_documents, yaml_error_line


def test_lines_of_strings_and_keys() -> None:
    text = "services:\n  web:\n    image: nginx:1.25\n---\n- alpine\n"
    first, second = list(load_documents(text))
    image = first["services"]["web"]["image"]
    assert isinstance(image, LineStr) and image.line == 3
    assert isinstance(first["services"], LineDict) and first["services"].line_of("web") == 2
    assert second[0].line == 5


def test_merge_keys_and_anchors() -> None:
    text = "base: &b\n  image: busybox\njob:\n  <<: *b\n  script: x\n"
    (doc,) = load_documents(text)
    assert doc["job"]["image"] == "busybox"
    assert doc["job"]["image"].line == 2  # the line of the anchored value, where the text really is


def test_python_tags_are_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        list(load_documents("x: !!python/object/apply:os.system ['true']\n"))


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(YamlBomb, match="alias bomb"):
        list(load_documents("\n".join(lines) + "\n"))


def test_syntax_error_has_a_line() -> None:
    with pytest.raises(yaml.YAMLError) as info:
        list(load_documents("a: 1\nb: [unclosed\nc: 2\n"))
    assert yaml_error_line(info.value) is not None


def test_flow_depth_is_counted_by_regaudit_below_any_library_limit() -> None:
    """600 levels: under the 1,000 that some libyaml builds refuse with their own wording, over regaudit's 500.
    The refusal is regaudit's own, whatever the YAML library's build says."""
    from parsers.common.yaml_loader import MAX_FLOW_DEPTH

    text = "a: " + "[" * 600 + "]" * 600 + "\n"
    with pytest.raises(YamlBomb, match=f"nested deeper than {MAX_FLOW_DEPTH} levels"):
        list(load_documents(text))
    (shallow,) = load_documents("a: " + "[" * 400 + "]" * 400 + "\n")
    assert shallow["a"] is not None
