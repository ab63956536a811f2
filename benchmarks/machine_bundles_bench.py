"""Time of reading machine bundles and reviewing them: a fleet of copies of the test fixtures' bundles.

Copies the clean macOS, Windows and Linux bundles (tests/fixtures/machine/bundles) MACHINES times in all, every
fifth one broken by the uppercase-org overlay, collects them as `regaudit audit` does and runs the Docker Desktop
review. Prints wall-clock seconds for collection (parsing every file) and for the review, and per machine.

    python -m benchmarks.machine_bundles_bench [--machines N]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from auditor.core.allowlist import MatchMode, read_allowlist
from auditor.decisions.desktop import review_machines
from auditor.knowledge import load_knowledge
from auditor.pipeline.collect import CollectOptions, collect

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "machine"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machines", type=int, default=300)
    args = parser.parse_args()
    knowledge = load_knowledge()
    allowlist, _ = read_allowlist(FIXTURES / "bundles.allowlist.txt")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for number in range(args.machines):
            platform = ("mac", "win", "linux")[number % 3]
            target = root / f"{platform}-{number:05d}"
            shutil.copytree(FIXTURES / "bundles" / f"{platform}-clean", target)
            if number % 5 == 0:
                shutil.copyfile(FIXTURES / "broken" / "mac-uppercase" / "registry.json", target / "registry.json")
        files = sum(1 for _ in root.rglob("*") if _.is_file())
        started = time.perf_counter()
        store = collect([str(root)], CollectOptions(variables={}, show_progress=False))
        collected = time.perf_counter()
        review = review_machines(store, allowlist, MatchMode.SUFFIX, knowledge)
        reviewed = time.perf_counter()
    print(f"collect: {args.machines} machines, {files} files, {len(store.machine_records)} machine records; "
          f"{collected - started:.2f}s ({(collected - started) / args.machines * 1000:.1f} ms a machine)")
    print(f"review:  {len(review.findings)} findings, {review.fleet.enforcing} of {len(review.fleet.machines)} "
          f"enforcing; {reviewed - collected:.3f}s")


if __name__ == "__main__":
    main()
