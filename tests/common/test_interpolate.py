"""Variable interpolation: the forms each dialect defines, and that missing values are reported, not guessed."""

import pytest

from parsers.common.interpolate import interpolate, mapping_lookup

VARS = mapping_lookup({"IMAGE": "alpine", "EMPTY": "", "TAG": "3.19", "REG": "ghcr.io"})


@pytest.mark.parametrize(
    ("text", "dialect", "expected", "missing"),
    [
        ("${IMAGE}:${TAG}", "shell", "alpine:3.19", []),
        ("$IMAGE:$TAG", "shell", "alpine:3.19", []),
        ("$REG/org/app", "dockerfile", "ghcr.io/org/app", []),
        ("${UNSET:-busybox}", "dockerfile", "busybox", []),
        ("${EMPTY:-busybox}", "dockerfile", "busybox", []),
        ("${EMPTY-busybox}", "compose", "", []),
        ("${UNSET-busybox}", "compose", "busybox", []),
        ("${IMAGE:+custom}", "dockerfile", "custom", []),
        ("${EMPTY:+custom}", "dockerfile", "", []),
        ("${EMPTY+custom}", "compose", "custom", []),
        ("${UNSET+custom}", "compose", "", []),
        ("$$IMAGE", "compose", "$IMAGE", []),
        ("\\$IMAGE", "dockerfile", "$IMAGE", []),
        ("`$IMAGE", "dockerfile", "`alpine", []),
        ("\\$IMAGE", "shell", "$IMAGE", []),
        ("${UNSET:-${REG:-x}}/app", "compose", "ghcr.io/app", []),
        ("${UNSET}/app", "compose", "/app", ["UNSET"]),
        ("$UNSET/app", "shell", "/app", ["UNSET"]),
        ("${UNSET:-${ALSO_UNSET}}", "compose", "", ["ALSO_UNSET"]),
        ("${IMAGE:-${ALSO_UNSET}}", "compose", "alpine", []),
        ("price $5", "shell", "price $5", []),
        ("trailing $", "shell", "trailing $", []),
    ],
)
def test_forms(text: str, dialect: str, expected: str, missing: list[str]) -> None:
    result = interpolate(text, VARS, dialect)  # type: ignore[arg-type]
    assert result.text == expected
    assert result.missing == missing
    assert result.errors == []


def test_backtick_escape_char_for_windows_dockerfiles() -> None:
    result = interpolate("`$IMAGE", VARS, "dockerfile", escape="`")
    assert result.text == "$IMAGE"


@pytest.mark.parametrize("text", ["${UNSET:?must be set}", "${EMPTY:?must be set}", "${UNSET?must be set}"])
def test_required_variable_errors(text: str) -> None:
    result = interpolate(text, VARS, "compose")
    assert result.errors and "must be set" in result.errors[0]
    assert not result.complete


def test_empty_is_set_for_plain_question_mark() -> None:
    assert interpolate("${EMPTY?must be set}", VARS, "compose").complete


@pytest.mark.parametrize("text", ["${", "${IMAGE", "${IMAGE:*x}", "${}"])
def test_bad_substitution_is_an_error_not_a_crash(text: str) -> None:
    result = interpolate(text, VARS, "compose")
    assert result.errors
    assert result.errors[0].startswith("bad substitution")
