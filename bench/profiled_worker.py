"""`python -m bench.profiled_worker STATS_FILE`: `worker.py` as it is, under cProfile, until
SIGTERM; then the merged statistics go to STATS_FILE (pstats format).

`python -m cProfile worker.py` would miss most of the cost: the SDK runs workflow activations
(and so every replay) on a thread pool, and cProfile only sees the thread it was started on.
Here every callable submitted to a thread pool runs under a profiler of its own thread,
enabled only while it runs, so the statistics can be read safely at exit; the main thread
(asyncio: activities, the SDK's polling, payload conversion) has its own.
"""

from __future__ import annotations

import cProfile
import pstats
import runpy
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

_profiles: list[cProfile.Profile] = []
_local = threading.local()
_lock = threading.Lock()


def _thread_profile() -> cProfile.Profile:
    profile: cProfile.Profile | None = getattr(_local, "profile", None)
    if profile is None:
        profile = cProfile.Profile()
        _local.profile = profile
        with _lock:
            _profiles.append(profile)
    return profile


def _profiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        profile = _thread_profile()
        profile.enable()
        try:
            return fn(*args, **kwargs)
        finally:
            profile.disable()

    return run


_original_submit = ThreadPoolExecutor.submit


def _submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kw: Any) -> Any:
    future: Future[Any] = _original_submit(self, _profiled(fn), *args, **kw)
    return future


def main(argv: list[str]) -> int:
    stats_file = Path(argv[0])
    ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign,assignment]
    main_thread = cProfile.Profile()
    code = 0
    main_thread.enable()
    try:
        runpy.run_path("worker.py", run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        main_thread.disable()
        stats = pstats.Stats(main_thread)
        with _lock:
            for profile in _profiles:
                stats.add(profile)
        stats.dump_stats(stats_file)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
