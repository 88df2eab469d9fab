"""How long a run took, as the person who started it counts: from the start of the process
(the interpreter and its imports included) when it runs from its own command line, from the
call otherwise (a test, or a program that calls the command line)."""

from __future__ import annotations

import os
import time

_started = time.monotonic()  # until `start`: when the command line was loaded


def start(*, process: bool) -> None:
    """The run starts now; with `process`, when this process started, if the system says."""
    global _started
    now = time.monotonic()
    age = _process_age() if process else None
    _started = now - age if age is not None else now


def seconds() -> float:
    return time.monotonic() - _started


def duration(seconds: float) -> str:
    """`0.4 s`, `12 s`, `2 min 05 s`, `1 h 02 min`."""
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _process_age() -> float | None:
    """Seconds since this process started, from Linux's /proc; None elsewhere."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()  # after the name, which may hold ")"
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: since boot, in ticks
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return age if 0 <= age < 86_400 else None
