"""Small helpers about local TCP ports."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Ports the kernel hands to a bind on port 0 come from its ephemeral range, the range it also
# hands to outgoing connections: a port found free that way can be taken by any client's
# connection before the server that was meant to get it binds it (a stack test once lost its
# Web UI port so). Ports are therefore picked below that range, where only listeners go.
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 20000


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _below_ephemeral() -> int:
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return max(low, _LOWEST + 1000)


def _bindable(port: int, host: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Distinct ports nothing listens on, outside the range outgoing connections use."""
    chosen: list[int] = []
    ceiling = _below_ephemeral()
    generator = random.SystemRandom()
    for _ in range(10_000):
        if len(chosen) == count:
            return chosen
        port = generator.randrange(_LOWEST, ceiling)
        if port not in chosen and _bindable(port, host):
            chosen.append(port)
    raise OSError(f"no {count} free ports between {_LOWEST} and {ceiling}")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, outside the range outgoing connections use."""
    return free_ports(1, host)[0]
