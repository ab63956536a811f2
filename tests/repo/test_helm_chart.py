"""Helm chart templates rendered by regaudit's own evaluator: not input errors, images resolved or Unresolved."""

from __future__ import annotations

import time

import pytest

from auditor.core.model import ImageReference, InputError, Unresolved
from auditor.pipeline.collect import CollectOptions, collect
from parsers.repo import helm_chart
from parsers.repo.helm_template import MARKER_RE, Renderer, TemplateError, parse_template
from tests.conftest import FIXTURES, run_parser

CHARTS = FIXTURES / "repo" / "helm_chart"


def _render(text: str, values: dict, chart: dict | None = None) -> tuple[str, list[str]]:  # type: ignore[type-arg]
    nodes, defines = parse_template(text)
    renderer = Renderer(defines, {"Values": values, "Chart": chart or {}})
    out, _chunks = renderer.render(nodes)
    return out, renderer.unknowns


def _refs(records: list) -> list[tuple[str, int | None]]:  # type: ignore[type-arg]
    return [(r.canonical, r.source.line) for r in records if isinstance(r, ImageReference)]


# -- the evaluator ---------------------------------------------------------------------------------------------

def test_values_paths_default_and_app_version() -> None:
    text = 'image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"\n'
    assert _render(text, {"image": {"repository": "nginx", "tag": ""}}, {"AppVersion": "1.2"})[0] == \
        'image: "nginx:1.2"\n'
    assert _render(text, {"image": {"repository": "nginx", "tag": "3"}}, {"AppVersion": "1.2"})[0] == \
        'image: "nginx:3"\n'


def test_trim_markers_comments_and_printf() -> None:
    text = '{{/* note */}}a: {{- printf " %s/%s" "r.io" "x" -}}  \n  b\n'
    assert _render(text, {})[0] == "a: r.io/xb\n"


def test_include_with_merge_and_if_else() -> None:
    text = ('{{- define "img" -}}{{- if .repository -}}{{ .repository }}{{- else -}}'
            '{{ .registry }}/{{ .image }}{{- end -}}{{- end -}}'
            '{{- with (merge .Values.c.image .Values.global.image) }}x: {{ include "img" . }}:{{ .tag }}{{ end }}')
    values = {"global": {"image": {"registry": "registry.k8s.io"}}, "c": {"image": {"image": "a/b", "tag": "v1"}}}
    assert _render(text, values)[0] == "x: registry.k8s.io/a/b:v1"
    values["c"]["image"]["registry"] = "own.example.com"  # merge keeps the first dict's keys
    assert _render(text, values)[0] == "x: own.example.com/a/b:v1"


def test_variables_parenthesised_fields_and_dict() -> None:
    text = ('{{- define "i" -}}{{- $r := default .root.registry ((.global).imageRegistry) -}}'
            '{{ $r }}/{{ .root.repository }}{{- end -}}'
            '{{ include "i" (dict "root" .Values.image "global" .Values.global) }}')
    assert _render(text, {"image": {"registry": "docker.io", "repository": "bitnami/x"}})[0] == "docker.io/bitnami/x"
    assert _render(text, {"image": {"registry": "docker.io", "repository": "bitnami/x"},
                          "global": {"imageRegistry": "mirror.example.com"}})[0] == "mirror.example.com/bitnami/x"


def test_range_and_to_yaml() -> None:
    text = ("{{- range .Values.extra }}\n- {{ .name }}: {{ .image }}{{ end }}\n"
            "res:\n  {{- toYaml .Values.res | nindent 2 }}")
    out, unknowns = _render(text, {"extra": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}],
                                   "res": {"limits": {"cpu": 1}}})
    assert out == "\n- a: x:1\n- b: y:2\nres:\n  limits:\n    cpu: 1" and not unknowns


def test_what_it_does_not_know_is_a_marker_with_a_reason() -> None:
    out, unknowns = _render('a: {{ tpl .Values.x . }}\nb: {{ include "missing" . }}\n'
                            'c: {{ .Capabilities.KubeVersion }}', {"x": "y"})
    assert len(MARKER_RE.findall(out)) == 3
    assert unknowns[0] == "the template function tpl" and "does not define" in unknowns[1]
    assert ".Capabilities" in unknowns[2]


def test_unbalanced_blocks_are_a_template_error_with_a_line() -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template("a: 1\n{{ if .x }}\nb: 2\n")
    assert caught.value.line == 2


def test_rendering_is_bounded() -> None:
    text = "{{ range $i := 10000 }}{{ range $j := 10000 }}x{{ end }}{{ end }}"
    started = time.monotonic()
    _out, unknowns = _render(text, {})
    assert time.monotonic() - started < 10
    assert any("steps" in reason or "bytes" in reason for reason in unknowns)


# -- the parser on charts --------------------------------------------------------------------------------------

def test_a_helm_create_style_chart() -> None:
    records = run_parser(helm_chart.parse, CHARTS / "webapp/templates/deployment.yaml")
    assert not [r for r in records if isinstance(r, InputError)]
    assert sorted(_refs(records)) == [("docker.io/library/busybox:1.36", 22), ("ghcr.io/example/webapp:1.16.0", 25),
                                      ("quay.io/example/sidecar:2.3", 28)]
    [tpl] = [r for r in records if isinstance(r, Unresolved)]
    assert tpl.text == "{{ tpl .Values.image.repository . }}" and tpl.source.line == 30
    assert "tpl" in tpl.reason and "helm template" in tpl.reason


def test_set_overrides_values_with_dotted_names() -> None:
    records = run_parser(helm_chart.parse, CHARTS / "webapp/templates/deployment.yaml", {"image.tag": "2.0.0"})
    assert ("ghcr.io/example/webapp:2.0.0", 25) in _refs(records)


def test_an_ingress_nginx_style_chart_confirms_the_values_shape() -> None:
    records = run_parser(helm_chart.parse, CHARTS / "ingress/templates/controller-deployment.yaml")
    assert _refs(records) == [("registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:" + "0" * 63 + "7", 11)]


def test_a_helper_of_an_absent_library_chart_is_unresolved_with_a_hint() -> None:
    records = run_parser(helm_chart.parse, CHARTS / "bitnami-style/templates/statefulset.yaml")
    assert _refs(records) == []
    [image] = [r for r in records if isinstance(r, Unresolved)]
    assert image.source.line == 10 and "common.images.image" in image.reason and "library chart" in image.reason


def test_a_template_it_cannot_parse_is_one_error_and_its_literal_images_are_kept() -> None:
    records = run_parser(helm_chart.parse, CHARTS / "broken/templates/pod.yaml")
    [error] = [r for r in records if isinstance(r, InputError)]
    assert error.source.line == 7 and "without end" in error.message
    assert _refs(records) == [("docker.io/library/alpine:3.20", 9)]
    assert [r.source.line for r in records if isinstance(r, Unresolved)] == [11]


def test_a_repository_with_charts_has_no_template_errors() -> None:
    store = collect([str(CHARTS / "webapp"), str(CHARTS / "ingress")], CollectOptions(variables={}))
    assert not store.errors
    kinds = {record.path.split("helm_chart/")[1]: record.kind for record in store.inputs}
    assert kinds["webapp/templates/_helpers.tpl"] == "helm_chart"
    assert kinds["webapp/templates/NOTES.txt"] == "helm_chart"
    assert kinds["webapp/values.yaml"] == "helm_values"


@pytest.mark.parametrize("text", ["{{ x " * 200_000, '{{ "' * 200_000, "a}} {{ /* " * 100_000,
                                  "{{ .a }}" * 100_000 + "{{", "{{ if 1 }}" * 5_000 + "{{ end }}" * 5_000,
                                  "{{ " + "(" * 5_000 + "1" + ")" * 5_000 + " }}",
                                  '{{ define "d" }}' + "{{ if 1 }}" * 99 + '{{ include "d" . }}' + "{{ end }}" * 99
                                  + '{{ end }}{{ include "d" . }}'])
def test_hostile_templates_are_refused_or_read_in_linear_time(text: str) -> None:
    started = time.monotonic()
    try:
        nodes, _defines = parse_template(text)
        Renderer({}, {"Values": {}}).render(nodes)
    except TemplateError:
        pass
    assert time.monotonic() - started < 5


def test_a_keyword_may_touch_its_pipeline() -> None:
    # `{{- with.Values.x }}` is valid Go template syntax (seen in prometheus-community charts)
    assert _render("{{- with.Values.a }}x: {{ .b }}{{ end }}", {"a": {"b": 1}})[0] == "x: 1"
