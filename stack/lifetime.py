"""Children that end with their supervisor, even when it is killed with SIGKILL.

The stack's children run in their own sessions (so that Ctrl-C in the terminal reaches only
the supervisor, which then stops them in order). The price: when the supervisor dies without
running its shutdown (SIGKILL, an OOM kill), nothing tells them. On Linux the kernel can: a
process that asked with `prctl(PR_SET_PDEATHSIG, sig)` receives `sig` when its parent dies.
We ask in the child between fork and exec (`preexec_fn`), so the request survives the exec
of the server binary; it is asked after Popen's own setuid (PostgreSQL runs as a system user
when we are root), because the kernel clears the request on every change of credentials.

Two things about the kernel's notion of "parent" shape how this is used:
- it is the *thread* that forked, not the process: a child forked from a short-lived thread
  (`asyncio.to_thread`) would be signalled when that thread ends. The stack therefore forks
  every long-lived child from its main thread.
- a parent that dies between the fork and the prctl call is missed, so the child checks that
  its parent is still the one that forked it, and refuses to exec otherwise.

Elsewhere (macOS) there is no such request; there the next `up` stops what a killed stack left
behind (`stack.takeover`), which on Linux is only the backstop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

# From <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1


class ParentGone(OSError):
    """Raised in the child when its parent died before the request took effect."""


def _linux_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    function = libc.prctl
    function.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    function.restype = ctypes.c_int
    prctl: Callable[..., int] = function
    return prctl


# Resolved once, in the parent: the child between fork and exec should do as little as it can.
_PRCTL = _linux_prctl()


def supported() -> bool:
    """True where children can be made to end with their parent (Linux)."""
    return _PRCTL is not None


def end_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive `sig` when this process dies; None where the
    platform cannot (the caller then passes no preexec_fn at all)."""
    prctl = _PRCTL
    if prctl is None:
        return None
    parent = os.getpid()
    number = int(sig)

    def request() -> None:
        # Runs in the forked child: only system calls, no imports, no locks.
        if prctl(_PR_SET_PDEATHSIG, number, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:
            raise ParentGone(f"the stack (pid {parent}) ended before this child started")

    return request
