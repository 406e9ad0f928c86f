"""The store server's memory settings for a small box (a Raspberry Pi-class appliance).

glibc's allocator gives each thread that allocates its own arena, up to eight per core, and
keeps freed memory in the arena it came from. The edge allocates on the event loop, in the
single SQLite writer thread, in each aiosqlite reader thread and in the thread pool (password
hashing, blocking reads), so after a busy hour the process held about 20 MB of freed but
unreturned memory (measured with `tests/bench/bench_memory.py`: 150 MB after 10,000 checkouts
with the default, 130 MB with two arenas, at the same throughput). Capping the arenas trades a
little lock contention in malloc, which two cores never feel, for that memory.

`MALLOC_ARENA_MAX` in the environment does the same, but only if it is set before the process
starts; `mallopt` works from inside, as long as it runs before the first thread does.
"""

from __future__ import annotations

import ctypes
import sys

M_ARENA_MAX = -8  # glibc's <malloc.h>


def limit_malloc_arenas(count: int) -> bool:
    """Cap glibc's malloc arenas at `count` (0 leaves the default). Call before any thread starts.

    Returns whether the cap is in force: False on a C library without arenas to cap (musl, macOS)."""
    if count <= 0 or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter itself runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count))
