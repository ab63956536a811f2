"""The tree walk: files per second over a generated tree of mostly irrelevant files, against `find`.

    python -m benchmarks.walk_bench [--files N] [--runs 3] [--keep]

The tree (under benchmarks/work/walk-N/, git-ignored) looks like a monorepo checkout: source files of several
languages, Markdown, JSON and YAML that are not deployment files, small binary assets, one directory level per
50 files, and a few real inputs (a Dockerfile, a compose file, a workflow, a Kubernetes manifest) every 1,000
files. Three figures are printed, best of RUNS, each with its CPU time: `find -type f` (the floor: it reads no
content), the walk and detection alone (`collect` in this process, every file's head read and its kind
detected), and the real CLI (`python -m auditor discover TREE`, --jobs 1 and 2, interpreter start-up included;
CPU is the process's and its workers'). The issue's target is 20,000 files/s for the walk.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = REPO_ROOT / "benchmarks" / "work"

_PY = "import os\n\n\ndef handler(event, context):\n    return {'status': os.environ.get('STAGE', 'dev')}\n"
_JS = "export function add(a, b) {\n  return a + b;\n}\n// image: not-a-deployment\n"
_GO = "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n"
_MD = "# Notes\n\nRun `make test` before pushing. The service listens on port 8080.\n"
_JSON = '{"name": "widget", "version": "1.0.0", "dependencies": {"left-pad": "^1.3.0"}}\n'
_YAML = "settings:\n  retries: 3\n  timeout: 30s\n  labels: [a, b, c]\n"
_TEXT = {".py": _PY, ".js": _JS, ".go": _GO, ".md": _MD, ".json": _JSON, ".yaml": _YAML, ".txt": _MD}
_RELEVANT = {
    "Dockerfile": "FROM ghcr.io/acme/base:1.2\nRUN make\n",
    "compose.yaml": "services:\n  web:\n    image: quay.io/acme/web:2\n",
    ".github/workflows/ci.yml": "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    container: node:20\n"
                                "    steps:\n      - run: true\n",
    "deploy.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
                   "    - name: c\n      image: mcr.microsoft.com/dotnet/runtime:8.0\n",
}


def write_tree(root: Path, files: int, seed: int = 11) -> None:
    """FILES files under ROOT: ~99.6% irrelevant (sources, docs, data, binary assets), a few real inputs."""
    rng = random.Random(seed)
    suffixes = [*_TEXT, ".png"]
    written = 0
    directory = 0
    while written < files:
        folder = root / f"pkg{directory // 20:03d}" / f"mod{directory % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(min(50, files - written)):
            if written % 1000 == 999:
                name, text = list(_RELEVANT.items())[(written // 1000) % len(_RELEVANT)]
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
            else:
                suffix = suffixes[rng.randrange(len(suffixes))]
                target = folder / f"file{index:02d}{suffix}"
                if suffix == ".png":
                    target.write_bytes(b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randrange(200, 4000)))
                else:
                    target.write_text(_TEXT[suffix] * rng.randrange(1, 40))
            written += 1
        directory += 1


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_subprocess(argv: list[str]) -> tuple[float, float]:
    before = _children_cpu()
    start = time.perf_counter()
    subprocess.run(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start, _children_cpu() - before


def _timed_collect(root: Path) -> tuple[float, float]:
    from auditor.pipeline.collect import CollectOptions, collect

    start, cpu = time.perf_counter(), time.process_time()
    collect([str(root)], CollectOptions(variables={}, show_progress=False))
    return time.perf_counter() - start, time.process_time() - cpu


def _line(label: str, files: int, timings: list[tuple[float, float]]) -> str:
    wall, cpu = min(timings)
    return (f"{label:38} {wall:6.2f} s wall  {cpu:6.2f} s CPU  {files / wall:9,.0f} files/s  "
            f"({files / cpu:,.0f} per CPU s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the generated tree for the next run")
    args = parser.parse_args(argv)
    root = WORK_DIR / f"walk-{args.files}"
    if not root.exists():
        start = time.perf_counter()
        write_tree(root, args.files)
        print(f"wrote {args.files:,} files under {root} in {time.perf_counter() - start:.1f} s")
    files = sum(len(names) for _, _, names in os.walk(root))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; best of {args.runs}; {files:,} files")
    find = shutil.which("find")
    if find:
        print(_line("find -type f", files, [_timed_subprocess([find, str(root), "-type", "f"])
                                            for _ in range(args.runs)]))
    walk = [_timed_collect(root) for _ in range(args.runs)]
    print(_line("walk + detection (collect, in process)", files, walk))
    cli = [_timed_subprocess([sys.executable, "-m", "auditor", "discover", str(root), "--jobs", "1"])
           for _ in range(args.runs)]
    print(_line("regaudit discover --jobs 1 (the CLI)", files, cli))
    pooled = [_timed_subprocess([sys.executable, "-m", "auditor", "discover", str(root), "--jobs", "2"])
              for _ in range(args.runs)]
    print(_line("regaudit discover --jobs 2 (the CLI)", files, pooled))
    verdict = "meets" if files / min(walk)[0] >= 20_000 else "is UNDER"
    print(f"the walk {verdict} the 20,000 files/s target")
    if not args.keep:
        shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
