#!/bin/sh
# collect-machine.sh: gather what regaudit needs to tell whether Docker Desktop on this machine (macOS or Linux)
# would enforce the organization's Registry Access Management allowlist, into one bundle folder per machine.
#
#   sh collect-machine.sh [-o OUTDIR] [-n NAME]
#
# Writes OUTDIR/NAME/ (default ./regaudit-bundles/<short host name>/), then: regaudit audit OUTDIR --allowlist ...
# Reads only configuration files and the output of read-only docker commands; copies no secret: config.json is
# reduced to its registry names and helper names (never `auth`, tokens or passwords), and `user:password@` is cut
# out of every URL in every copied text file. Nothing is sent anywhere. See scripts/README.md.
#
# Test overrides (environment): REGAUDIT_ROOT (prefix for system paths, default empty), REGAUDIT_HOME (default
# $HOME), REGAUDIT_PLATFORM (macos|linux, default from uname), REGAUDIT_DOCKER (the docker CLI, default docker),
# REGAUDIT_DESKTOP_VERSION (skip looking the installed version up), REGAUDIT_NOW (the collection time).

set -u
umask 077

COLLECTOR_VERSION=1
out_dir=./regaudit-bundles
name=$(hostname -s 2>/dev/null || hostname 2>/dev/null || echo machine)
while getopts "o:n:h" opt; do
  case $opt in
    o) out_dir=$OPTARG ;;
    n) name=$OPTARG ;;
    *) sed -n '2,14p' "$0"; exit 2 ;;
  esac
done
case $name in
  ''|*/*|.|..) echo "collect-machine: invalid machine name: $name" >&2; exit 2 ;;
esac

root=${REGAUDIT_ROOT:-}
home=${REGAUDIT_HOME:-${HOME:-}}
docker_cli=${REGAUDIT_DOCKER:-docker}
platform=${REGAUDIT_PLATFORM:-}
if [ -z "$platform" ]; then
  case $(uname -s) in
    Darwin) platform=macos ;;
    Linux) platform=linux ;;
    *) echo "collect-machine: unsupported system $(uname -s); on Windows use collect-machine.ps1" >&2; exit 2 ;;
  esac
fi
docker_dir=${DOCKER_CONFIG:-$home/.docker}
bundle=$out_dir/$name
mkdir -p "$bundle" || exit 1
collected=""
missing=""

note() { missing="$missing${missing:+,}\"$1\""; }
took() { collected="$collected${collected:+,}\"$1\""; }

# URLs lose any user:password@ (proxy settings may carry credentials).
scrub() { sed 's#\(://\)[^/@"[:space:]]*@#\1#g'; }

copy_text() {  # copy_text SOURCE TARGET-NAME: a text file, scrubbed
  if [ -r "$1" ] && [ -f "$1" ]; then
    scrub < "$1" > "$bundle/$2" && took "$2" && return 0
  fi
  note "$2"
  return 1
}

copy_plist() {  # copy_plist SOURCE TARGET-NAME: a property list, as XML where plutil can convert it
  if ! [ -r "$1" ] || ! [ -f "$1" ]; then note "$2"; return 1; fi
  if command -v plutil >/dev/null 2>&1 && plutil -convert xml1 -o - "$1" 2>/dev/null | scrub > "$bundle/$2" \
      && [ -s "$bundle/$2" ]; then
    took "$2"; return 0
  fi
  if [ "$(head -c 6 "$1")" = "bplist" ]; then  # binary, and no plutil to read it: cannot scrub, so not copied
    rm -f "$bundle/$2"; note "$2 (binary plist, plutil not available)"; return 1
  fi
  copy_text "$1" "$2"
}

first_of() {  # first_of TARGET-NAME PATH...: copy the first existing path
  target=$1; shift
  for candidate in "$@"; do
    if [ -f "$candidate" ]; then copy_text "$candidate" "$target"; return; fi
  done
  note "$target"
}

# -- enforced sign-in and Settings Management (desktop.md §2.1, §5.1, §6.1) --------------------------------
if [ "$platform" = macos ]; then
  app_support="$root/Library/Application Support/com.docker.docker"
  copy_text "$app_support/registry.json" registry.json
  copy_plist "$app_support/desktop.plist" desktop.plist
  copy_text "$app_support/admin-settings.json" admin-settings.json
  copy_plist "$root/Library/Managed Preferences/com.docker.config.plist" com.docker.config.plist
  first_of settings-store.json "$home/Library/Group Containers/group.com.docker/settings-store.json" \
    "$home/Library/Application Support/Docker/settings-store.json"
  first_of settings.json "$home/Library/Group Containers/group.com.docker/settings.json"
else
  copy_text "$root/usr/share/docker-desktop/registry/registry.json" registry.json
  copy_text "$root/usr/share/docker-desktop/admin-settings.json" admin-settings.json
  copy_text "$home/.docker/desktop/settings-store.json" settings-store.json
  copy_text "$home/.docker/desktop/settings.json" settings.json
fi
copy_text "$root/etc/hosts" hosts
copy_text "$docker_dir/daemon.json" daemon.json

# -- config.json without its secrets: registry names, helper names, current context, proxies (scrubbed) ----
if [ -f "$docker_dir/config.json" ]; then
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$docker_dir/config.json" > "$bundle/config.json.tmp" <<'PY'
import json, re, sys
try:
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
except (OSError, ValueError):
    sys.exit(1)
if not isinstance(config, dict):
    sys.exit(1)
def scrub(value):
    return re.sub(r"(://)[^/@\s]*@", r"\1", value) if isinstance(value, str) else value
kept = {}
if isinstance(config.get("auths"), dict):
    kept["auths"] = {str(key): {} for key in config["auths"]}
if isinstance(config.get("credHelpers"), dict):
    kept["credHelpers"] = {str(k): str(v) for k, v in config["credHelpers"].items()}
for key in ("credsStore", "currentContext"):
    if isinstance(config.get(key), str):
        kept[key] = config[key]
if isinstance(config.get("proxies"), dict):
    kept["proxies"] = {str(n): {str(k): scrub(v) for k, v in p.items()} for n, p in config["proxies"].items()
                       if isinstance(p, dict)}
json.dump(kept, sys.stdout, indent=2, sort_keys=True)
print()
PY
    status=$?
  elif command -v jq >/dev/null 2>&1; then
    jq '{auths: ((.auths // {}) | with_entries(.value = {})), credHelpers: (.credHelpers // {}),
         credsStore: .credsStore, currentContext: .currentContext}
        | with_entries(select(.value != null))' "$docker_dir/config.json" > "$bundle/config.json.tmp"
    status=$?
  else
    status=1
  fi
  if [ "$status" -eq 0 ]; then
    mv "$bundle/config.json.tmp" "$bundle/config.json" && took config.json
  else
    rm -f "$bundle/config.json.tmp"; note "config.json (unreadable, or neither python3 nor jq to strip its secrets)"
  fi
else
  note config.json
fi

# -- read-only docker commands (desktop.md §8) ---------------------------------------------------------------
run_docker() {  # run_docker TARGET-NAME ARGS...: keep the output when there is any (`docker version` exits 1
  target=$1; shift    # without an engine but still prints the client half)
  if command -v timeout >/dev/null 2>&1; then
    DOCKER_CONFIG=$docker_dir timeout 60 "$docker_cli" "$@" 2>/dev/null | scrub > "$bundle/$target"
  else
    DOCKER_CONFIG=$docker_dir "$docker_cli" "$@" 2>/dev/null | scrub > "$bundle/$target"
  fi
  if [ -s "$bundle/$target" ]; then took "$target"; return 0; fi
  rm -f "$bundle/$target"
  return 1
}

if command -v "$docker_cli" >/dev/null 2>&1; then
  run_docker docker-version.json version --format json || run_docker docker-version.txt version || note docker-version
  run_docker docker-info.json info --format json || run_docker docker-info.txt info || note docker-info
  run_docker buildx-ls.json buildx ls --format json || run_docker buildx-ls.txt buildx ls || note buildx-ls
  run_docker docker-context-ls.json context ls --format json || note docker-context-ls
else
  note "docker commands ($docker_cli not found)"
fi

# -- the installed Docker Desktop version, for when the engine is not running ------------------------------
desktop_version=${REGAUDIT_DESKTOP_VERSION:-}
if [ -z "$desktop_version" ]; then
  if [ "$platform" = macos ]; then
    info_plist="$root/Applications/Docker.app/Contents/Info.plist"
    if [ -f "$info_plist" ]; then
      desktop_version=$( (plutil -extract CFBundleShortVersionString raw -o - "$info_plist" 2>/dev/null) ||
        sed -n '/CFBundleShortVersionString/{n;s/.*<string>\(.*\)<\/string>.*/\1/p;}' "$info_plist")
    fi
  elif command -v dpkg-query >/dev/null 2>&1; then
    desktop_version=$(dpkg-query -W -f='${Version}' docker-desktop 2>/dev/null || true)
  elif command -v rpm >/dev/null 2>&1; then
    desktop_version=$(rpm -q --qf '%{VERSION}' docker-desktop 2>/dev/null || true)
  fi
fi
desktop_version=$(printf '%s' "$desktop_version" | tr -cd '0-9A-Za-z.+~-')

now=${REGAUDIT_NOW:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
json_name=$(printf '%s' "$name" | sed 's/\\/\\\\/g; s/"/\\"/g')
{
  printf '{\n  "regaudit_machine_bundle": 1,\n  "collector": "collect-machine.sh %s",\n' "$COLLECTOR_VERSION"
  printf '  "machine": "%s",\n  "platform": "%s",\n  "collected_at": "%s",\n' "$json_name" "$platform" "$now"
  if [ -n "$desktop_version" ]; then printf '  "desktop_version": "%s",\n' "$desktop_version"; fi
  printf '  "collected": [%s],\n  "not_found": [%s]\n}\n' "$collected" "$missing"
} > "$bundle/regaudit-machine.json"

echo "collect-machine: wrote $bundle ($(printf '%s' "$collected" | tr ',' '\n' | grep -c .) files)"
