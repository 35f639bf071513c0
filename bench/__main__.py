"""`python -m bench [--quick] [--profile] [--json] [sizes]`: the benchmark against bare Temporal.

Starts its own stack (embedded PostgreSQL, the Temporal dev server, migrations, free ports,
a data folder under the system's temp folder), a `worker.py` process for the trajectories
and a bare worker process with the same settings, runs every phase (bench/run.py) and prints
the figures beside the targets of issue 9; progress goes to stderr. Every process it started
is stopped by its pid at the end, also on Ctrl-C, SIGTERM or an error. Exit code 0 when every
phase ran (whether targets are met or not), 1 when one failed, 130 on Ctrl-C.
See docs/performance.md, "Benchmark against bare Temporal".
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from bench.machine import this_machine
from bench.options import Options, parse
from bench.report import as_json, text
from bench.results import Results
from bench.run import progress, run_phases
from bench.servers import bench_stack
from bench.workers import WorkerPool


async def bench(options: Options, root: Path) -> Results:
    # Ctrl-C and SIGTERM cancel the main task, and every `finally` on the way out stops what
    # it started. Installed explicitly: a shell starts a background job with SIGINT ignored.
    main_task = asyncio.current_task()
    assert main_task is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, main_task.cancel)
    results = Results(machine=this_machine(), options=options)
    progress(f"data folder {root}")
    async with bench_stack(root) as stack:
        pool = WorkerPool(stack)
        try:
            await run_phases(stack, pool, options, results)
        except Exception as exc:  # e.g. a worker that does not start: shown with the figures
            results.errors.append(f"run: {exc!r}")
        finally:
            progress("stopping the workers and servers")
            pool.stop_all()
    return results


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    root = Path(tempfile.mkdtemp(prefix="inkanteling-bench-"))
    try:
        # Whatever the product logs in this process (the migrations) goes to stderr with the
        # progress, so that stdout holds the figures alone (--json can be piped).
        with contextlib.redirect_stdout(sys.stderr):
            results = asyncio.run(bench(options, root))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench: interrupted; every process it started was stopped", file=sys.stderr)
        return 130
    finally:
        if options.keep:
            progress(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(as_json(results) if options.json else text(results))
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
