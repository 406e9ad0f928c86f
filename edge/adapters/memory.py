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

glibc also moves its mmap threshold up to the size of the largest block it has freed (up to
32 MiB), and its trim threshold to twice that. Argon2id hashes in a 19 MiB block: the first hash
(the timing dummy, at import) is mmapped and given back, but it lifts the threshold to 19 MiB,
so every later hash takes its 19 MiB from an arena, and the arena keeps it, since 19 MiB free is
under the 38 MiB trim threshold. Once in the main arena (the demo seeding, a rehash) and once in
the thread pool's (the first login): 36 of the 133 MB the edge held idle. A fixed threshold stops
the drift, so blocks that big are mmapped and unmapped on free. The price is paid per sign-in,
not per sale: the kernel faults the 19 MiB in again for each hash (a verify took 50 ms of CPU
instead of 30-40 here). A checkout allocates in blocks far below 1 MiB.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

M_TRIM_THRESHOLD = -1  # glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def limit_malloc_arenas(count: int) -> bool:
    """Cap glibc's malloc arenas at `count` (0 leaves the default). Call before any thread starts.

    Returns whether the cap is in force: False on a C library without arenas to cap (musl, macOS)."""
    if count <= 0:
        return False
    mallopt = _mallopt()
    return mallopt is not None and bool(mallopt(M_ARENA_MAX, count))


def fix_mmap_threshold(kib: int) -> bool:
    """Serve blocks of `kib` KiB and more with mmap, given back on free, for good (0 leaves glibc's
    moving threshold). The trim threshold is set to twice that, as glibc's own rule would.
    Call before the second large block: glibc mmaps the first whatever the threshold.

    Returns whether glibc took both settings: False without glibc's malloc (musl, macOS)."""
    if kib <= 0:
        return False
    mallopt = _mallopt()
    return (mallopt is not None and bool(mallopt(M_MMAP_THRESHOLD, kib * 1024))
            and bool(mallopt(M_TRIM_THRESHOLD, 2 * kib * 1024)))


def _mallopt() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter itself runs on
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt
