"""Building a broken machine bundle for a test: the platform's clean bundle with one case's files laid over it.

tests/fixtures/machine/bundles/<platform>-clean/ are complete clean bundles; tests/fixtures/machine/broken/<case>/
holds only what differs (files that replace or add, and a REMOVE file naming the clean files to leave out). The
case's name starts with its platform (`mac-`, `win-`, `linux-`) and becomes the machine's (folder) name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

MACHINE = Path(__file__).parents[1] / "fixtures" / "machine"
BUNDLES = MACHINE / "bundles"
BROKEN = MACHINE / "broken"
ALLOWLIST = MACHINE / "bundles.allowlist.txt"


def build_bundle(case: str, root: Path) -> Path:
    platform = case.split("-", 1)[0]
    target = root / case
    shutil.copytree(BUNDLES / f"{platform}-clean", target)
    overlay = BROKEN / case
    removed = (overlay / "REMOVE").read_text().split() if (overlay / "REMOVE").exists() else []
    for name in removed:
        (target / name).unlink()
    for path in overlay.iterdir():
        if path.name != "REMOVE":
            shutil.copyfile(path, target / path.name)
    return target
