"""Seconds of pure-Python work, run in a child process so it does not hold the server's GIL.

The event loop answers the lanes; any long CPU-bound Python in the server's process, even on a
worker thread, takes the GIL from it in 5 ms slices and a lane's request, which gives the GIL up
at every socket and SQLite call, waits for it each time. A child process runs on the other core.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


async def in_child(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` (a module-level function; arguments and result picklable) in a freshly spawned
    process that exits afterwards, so nothing stays in memory between uses. Spawned, not forked:
    the server has threads (the writer, the readers) a fork would copy mid-work. Spawning costs
    about half a second of imports, so this is for work that takes longer than that."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               max_tasks_per_child=1)
    try:
        return await asyncio.wrap_future(pool.submit(fn, *args))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
