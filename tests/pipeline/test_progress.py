"""The progress bar: drawn on standard error when it is a terminal, never otherwise."""

from __future__ import annotations

import os
import pty
import struct
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def _bulk_capture(path: Path, packets: int = 8000, payload: int = 1400) -> None:
    """A classic pcap of plain TCP segments: big enough (> 8 MB) to earn a progress bar."""
    frame = (b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"  # Ethernet, IPv4
             + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 20 + payload, 1, 0, 64, 6, 0,
                           bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
             + struct.pack("!HHIIBBHHH", 40000, 8080, 1, 1, 0x50, 0x18, 65535, 0, 0)
             + b"x" * payload)
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for number in range(packets):
            out.write(struct.pack("<IIII", 1_700_000_000 + number, 0, len(frame), len(frame)))
            out.write(frame)


def _discover_with_stderr_on_a_terminal(*args: str, timeout: float = 120) -> tuple[int, str]:
    """(exit code, what was drawn) of `regaudit discover ARGS` with its standard error on a pseudo-terminal."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "auditor.cli", "discover", *args], cwd=REPO_ROOT,
                                   stdout=subprocess.DEVNULL, stderr=terminal)
        os.close(terminal)
        chunks = []
        while True:
            try:
                data = os.read(controller, 4096)
            except OSError:  # the terminal closes when the process ends
                break
            if not data:
                break
            chunks.append(data)
        return process.wait(timeout=timeout), b"".join(chunks).decode(errors="replace")
    finally:
        os.close(controller)


def test_bar_on_a_terminal(tmp_path: Path) -> None:
    capture = tmp_path / "bulk.pcap"
    _bulk_capture(capture)
    code, shown = _discover_with_stderr_on_a_terminal(str(capture))
    assert code == 0
    assert "100.0%" in shown and "MB/s" in shown
    assert "bulk.pcap" in shown


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    capture = tmp_path / "bulk.pcap"
    _bulk_capture(capture)
    result = subprocess.run([sys.executable, "-m", "auditor.cli", "discover", str(capture)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stderr == ""


def test_the_dask_bar_moves_with_each_completed_task(scheduler: str, tmp_path: Path) -> None:
    """On a terminal, `--engine dask` redraws its one bar as each task completes: a log read as five byte ranges
    is drawn at five growing fractions (then once more when the bar closes), ending at 100%."""
    import re

    from benchmarks.dnslog_bench import write_squid

    log = tmp_path / "access.log"
    write_squid(log, 120_000, seed=5)  # about 11 MB: past the bar's 8 MB threshold
    range_bytes = log.stat().st_size // 5
    code, shown = _discover_with_stderr_on_a_terminal(str(log), "--engine", "dask", "--scheduler", scheduler,
                                                      "--range-bytes", str(range_bytes), timeout=300)
    assert code == 0
    fractions = [float(f) for f in re.findall(r"dask tasks \[[#.]{30}\]\s+([\d.]+)%", shown)]
    assert len(fractions) == 6, shown
    assert fractions == sorted(fractions) and len(set(fractions[:5])) == 5 and fractions[-1] == 100.0
