"""`starter.py decide` end to end, as a coordinator runs it: one subprocess per call, one call
after the other, timed from spawning the process to its exit (interpreter start, imports,
connecting, whatever the command reads and the update itself). A call that does not exit 0
is counted as failed and its stderr kept."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field

from bench.latency import Decision
from bench.servers import BenchStack
from bench.stats import Latency
from bench.trajectories import COUNCIL_ROUND
from bench.workers import ROOT, worker_environment


@dataclass
class CliCalls:
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def latency(self) -> Latency:
        return Latency.of(self.seconds)


async def decide_by_command_line(
    stack: BenchStack, task_queue: str, decisions: list[Decision]
) -> CliCalls:
    env = worker_environment(stack, task_queue) | {"INKANTELING_LOG_FORMAT": "console"}
    calls = CliCalls()
    for decision in decisions:
        cooperation_id = decision.handle.id.removeprefix("inkanteling-")
        began = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "starter.py",
            "decide",
            cooperation_id,
            decision.authority_id,
            "approve",
            # Each council decides in the members' round and in the participants' own; the
            # command names the one meant, as a coordinator does.
            "--step",
            COUNCIL_ROUND,
            "--reference",
            f"https://{decision.authority_id}.example/besluit/cli",
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        elapsed = time.monotonic() - began
        if process.returncode == 0:
            calls.seconds.append(elapsed)
        else:
            line = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            calls.failures.append(f"exit {process.returncode}: {line[0]}")
    return calls
