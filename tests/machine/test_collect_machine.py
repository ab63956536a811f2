"""scripts/collect-machine.sh, run for real on Docker-like files laid out under a temporary root (REGAUDIT_ROOT):
it copies exactly the bundle's files, no secret, and regaudit reads what it wrote. The docker commands are the
real docker CLI of this machine (no engine runs here, so `docker version` has no server half), or none at all.

The PowerShell twin cannot run here (no pwsh: Debian does not package it and its NuGet tool is out of reach);
the last test keeps the two scripts writing the same file names.
"""

from __future__ import annotations

import json
import os
import plistlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main

SCRIPTS = Path(__file__).parents[2] / "scripts"
SH = SCRIPTS / "collect-machine.sh"
PS1 = SCRIPTS / "collect-machine.ps1"
SECRET = "hunter2"
AUTH = "Ym9iOmh1bnRlcjI="  # base64 of bob:hunter2, as `docker login` stores it


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def collect(root: Path, home: Path, platform: str, out: Path, name: str, docker: str = "docker",
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "REGAUDIT_ROOT": str(root), "REGAUDIT_HOME": str(home),
           "REGAUDIT_PLATFORM": platform, "REGAUDIT_DOCKER": docker, "REGAUDIT_NOW": "2026-12-01T00:00:00Z",
           **(extra_env or {})}
    return subprocess.run(["sh", str(SH), "-o", str(out), "-n", name], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def docker_config(home: Path) -> None:
    write(home / ".docker" / "config.json", json.dumps({
        "auths": {"ghcr.io": {"auth": AUTH}, "https://index.docker.io/v1/": {"auth": AUTH, "identitytoken": SECRET}},
        "credHelpers": {"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"},
        "credsStore": "desktop", "currentContext": "default",
        "proxies": {"default": {"httpProxy": f"http://bob:{SECRET}@proxy.acme.example:3128"}}}))


def audit(bundles: Path, tmp_path: Path, allowlist: str = "ghcr.io\n") -> dict:
    (tmp_path / "allowlist.txt").write_text(allowlist)
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(main, ["audit", str(bundles), "--allowlist", str(tmp_path / "allowlist.txt"),
                                       "--json", str(out)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return json.loads(out.read_text(encoding="utf-8"))


def no_secret_in(folder: Path) -> None:
    for path in folder.rglob("*"):
        data = path.read_bytes()
        assert SECRET.encode() not in data and AUTH.encode() not in data, path


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_linux_layout_with_the_real_docker_cli(tmp_path: Path) -> None:
    root, home, out = tmp_path / "root", tmp_path / "root" / "home" / "dev", tmp_path / "bundles"
    write(root / "usr/share/docker-desktop/registry/registry.json", '{"allowedOrgs": ["acme"]}\n')
    write(root / "etc/hosts", "127.0.0.1 localhost\n10.9.9.9 ghcr.io\n")
    write(home / ".docker/desktop/settings-store.json", json.dumps({
        "SettingsVersion": 43, "ProxyHTTPMode": "manual", "OverrideProxyHTTP": f"http://bob:{SECRET}@127.0.0.1:3128"}))
    write(home / ".docker/daemon.json", '{"insecure-registries": ["ghcr.io"]}\n')
    write(home / ".docker/unrelated-secret.txt", SECRET)  # not a bundle file: never read
    docker_config(home)
    result = collect(root, home, "linux", out, "devbox")
    assert result.returncode == 0, result.stderr
    bundle = out / "devbox"
    written = sorted(p.name for p in bundle.iterdir())
    assert written == ["config.json", "daemon.json", "docker-context-ls.json", "docker-info.json",
                       "docker-version.json", "hosts", "regaudit-machine.json", "registry.json", "settings-store.json"]
    no_secret_in(bundle)
    config = json.loads((bundle / "config.json").read_text())
    assert config["auths"] == {"ghcr.io": {}, "https://index.docker.io/v1/": {}}
    assert config["proxies"] == {"default": {"httpProxy": "http://proxy.acme.example:3128"}}
    manifest = json.loads((bundle / "regaudit-machine.json").read_text())
    assert (manifest["platform"], manifest["machine"], manifest["collected_at"]) == \
        ("linux", "devbox", "2026-12-01T00:00:00Z")
    assert "admin-settings.json" in manifest["not_found"] and "buildx-ls" in manifest["not_found"]
    version = json.loads((bundle / "docker-version.json").read_text())
    assert version["Server"] is None  # the real CLI, no engine here

    document = audit(out, tmp_path)
    assert [e for e in document["errors"] if "devbox" in e["location"]] == []
    kinds = {i["path"].rsplit("/", 1)[-1]: i["kind"] for i in document["inputs"]}
    assert kinds == {"config.json": "docker_config", "daemon.json": "docker_daemon",
                     "docker-context-ls.json": "docker_context", "docker-info.json": "docker_info",
                     "docker-version.json": "docker_version", "hosts": "hosts_file",
                     "regaudit-machine.json": "machine_manifest", "registry.json": "desktop_registry_json",
                     "settings-store.json": "desktop_settings"}
    rules = {f["data"]["rule"] for f in document["findings"] if "rule" in f["data"]}
    assert {"bypass/hosts-file", "bypass/local-proxy", "bypass/insecure-registry", "bypass/unlocked-settings",
            "engine/linux-socket"} <= rules
    assert "sign-in/none" not in rules
    [machine] = document["machines"]["machines"]
    assert (machine["name"], machine["platform"], machine["sign_in_method"]) == ("devbox", "linux", "registry.json")


def test_macos_layout_without_docker(tmp_path: Path) -> None:
    root, home, out = tmp_path / "root", tmp_path / "root" / "Users" / "dev", tmp_path / "bundles"
    support = root / "Library/Application Support/com.docker.docker"
    write(support / "desktop.plist", plistlib.dumps({"allowedOrgs": ["acme"]}, fmt=plistlib.FMT_BINARY))
    write(root / "Library/Managed Preferences/com.docker.config.plist",
          plistlib.dumps({"allowedOrgs": "acme", "overrideProxyHTTP": f"http://bob:{SECRET}@127.0.0.1:9000"}))
    write(support / "admin-settings.json", '{"configurationFileVersion": 2, "blockDockerLoad": '
                                           '{"locked": true, "value": true}}\n')
    write(home / "Library/Group Containers/group.com.docker/settings-store.json", '{"SettingsVersion": 40}\n')
    write(root / "Applications/Docker.app/Contents/Info.plist",
          plistlib.dumps({"CFBundleShortVersionString": "4.40.0", "CFBundleIdentifier": "com.docker.docker"}))
    write(root / "etc/hosts", "127.0.0.1 localhost\n")
    result = collect(root, home, "macos", out, "alice-mbp", docker=str(tmp_path / "no-docker-here"))
    assert result.returncode == 0, result.stderr
    bundle = out / "alice-mbp"
    no_secret_in(bundle)
    manifest = json.loads((bundle / "regaudit-machine.json").read_text())
    assert manifest["desktop_version"] == "4.40.0"
    assert any("no-docker-here not found" in item for item in manifest["not_found"])
    if shutil.which("plutil") is None:  # a binary plist cannot be scrubbed without plutil: left out, and said so
        assert not (bundle / "desktop.plist").exists()
        assert "desktop.plist (binary plist, plutil not available)" in manifest["not_found"]
    document = audit(out, tmp_path)
    assert [e for e in document["errors"] if "alice-mbp" in e["location"]] == []
    found = {(f["data"]["rule"], f["data"]["certainty"]) for f in document["findings"] if "rule" in f["data"]}
    assert ("sign-in/profile-cve-2025-4095", "certain") in found  # the version came from Info.plist
    assert ("bypass/local-proxy", "certain") in found
    [machine] = document["machines"]["machines"]
    assert (machine["platform"], machine["sign_in_method"], machine["state"]) == \
        ("macos", "config-profile", "not-enforced")


def test_invalid_machine_name_is_refused(tmp_path: Path) -> None:
    result = collect(tmp_path, tmp_path, "linux", tmp_path / "out", "../escape")
    assert result.returncode == 2 and "invalid machine name" in result.stderr
    assert not (tmp_path / "escape").exists()


def _sh_targets() -> set[str]:
    text = SH.read_text()
    names = set(re.findall(r'(?:copy_text|copy_plist|first_of)\s+(?:"[^"]*"\s+)?([\w.-]+\.(?:json|plist)|hosts)\b',
                           text))
    names |= set(re.findall(r"run_docker\s+([\w.-]+\.(?:json|txt))", text))
    names |= set(re.findall(r"took\s+([\w.-]+\.json)", text))
    return names | {"regaudit-machine.json"}


def _ps1_targets() -> set[str]:
    text = PS1.read_text()
    names = set(re.findall(r'Copy-Text\s+.*?"([\w.-]+)"\s*\|', text))
    names |= set(re.findall(r'Invoke-Docker\s+"([\w.-]+)"', text))
    names |= set(re.findall(r'Write-BundleFile\s+"([\w.-]+)"', text))
    return names


def test_the_two_scripts_write_the_same_bundle_files() -> None:
    common = {"registry.json", "admin-settings.json", "settings-store.json", "settings.json", "hosts", "daemon.json",
              "config.json", "docker-version.json", "docker-version.txt", "docker-info.json", "docker-info.txt",
              "buildx-ls.json", "buildx-ls.txt", "docker-context-ls.json", "regaudit-machine.json"}
    assert _sh_targets() == common | {"desktop.plist", "com.docker.config.plist"}
    assert _ps1_targets() == common | {"docker-desktop-policy.reg", "windows-daemon.json"}
