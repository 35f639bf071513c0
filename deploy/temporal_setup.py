"""`python -m deploy.temporal_setup`: prepare a Temporal cluster's namespace for the workers.

The one-shot job of the compose topology that runs after the Temporal server is up and before
any worker: it registers the namespace of TEMPORAL_NAMESPACE (a cluster with a fresh schema has
none) with the retention given on the command line, and the trajectory search attributes
(workflows/search_attributes.py, through the same `register_search_attributes` the local
stack uses). Both steps are idempotent: a second run changes nothing and exits 0.

A server that has just started may still answer UNAVAILABLE, and a namespace that was just
registered is unknown to the frontend until its namespace cache refreshes (NOT_FOUND); both
are waited out up to --wait seconds. Exit codes as `starter.py`: 0 ok, 2 usage or settings,
6 Temporal unreachable or not ready within the bound.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from cli.exit_codes import ExitCode
from codec.keyring import KeyRingError
from log import configure_logging, get_logger
from settings import Settings, SettingsError, load_settings
from temporal_connection import TemporalUnavailable, connect, register_search_attributes

log = get_logger("temporal_setup")

# Answers that mean "not yet" while a cluster starts or a new namespace propagates.
_NOT_YET = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.NOT_FOUND})
RETRY_INTERVAL = 1.0

T = TypeVar("T")


class NotReady(RuntimeError):
    """Temporal did not become ready within the bound."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.temporal_setup",
        description="Register the namespace (TEMPORAL_NAMESPACE) and the trajectory search "
        "attributes on a Temporal cluster; idempotent.",
    )
    parser.add_argument(
        "--retention-days",
        type=_positive_int,
        default=90,
        help="how long Temporal keeps a closed trajectory's history (default 90); "
        "only used when the namespace is created",
    )
    parser.add_argument(
        "--wait",
        type=_positive_int,
        default=120,
        help="seconds to wait for the server and the namespace to be ready (default 120)",
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


async def _until_ready(step: Callable[[], Awaitable[T]], what: str, deadline: float) -> T:
    """Run `step` until it stops answering "not yet" (bounded by `deadline`)."""
    while True:
        try:
            return await step()
        except RPCError as exc:
            if exc.status not in _NOT_YET or time.monotonic() >= deadline:
                raise NotReady(f"{what}: {exc.status.name} {exc.message}") from None
        except TemporalUnavailable as exc:
            if time.monotonic() >= deadline:
                raise NotReady(f"{what}: {exc}") from None
        await asyncio.sleep(RETRY_INTERVAL)


async def _register_namespace(client: Client, namespace: str, retention: timedelta) -> bool:
    """Register `namespace`; False when it already exists (its retention is left as it is)."""
    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=namespace,
                description="inkanteling trajectories",
                workflow_execution_retention_period=Duration(
                    seconds=int(retention.total_seconds())
                ),
            )
        )
    except RPCError as exc:
        if exc.status is RPCStatusCode.ALREADY_EXISTS:
            return False
        raise
    return True


async def set_up(
    settings: Settings, *, retention: timedelta, wait: float
) -> tuple[bool, list[str]]:
    """Whether the namespace was created, and the search attributes added."""
    deadline = time.monotonic() + wait
    client = await _until_ready(lambda: connect(settings), "connecting to Temporal", deadline)
    namespace = settings.temporal_namespace
    created = await _until_ready(
        lambda: _register_namespace(client, namespace, retention),
        f"registering the namespace {namespace!r}",
        deadline,
    )
    added = await _until_ready(
        lambda: register_search_attributes(client),
        f"registering the search attributes in {namespace!r}",
        deadline,
    )
    return created, added


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"temporal_setup: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    configure_logging(settings)
    try:
        created, added = asyncio.run(
            set_up(settings, retention=timedelta(days=args.retention_days), wait=args.wait)
        )
    except KeyRingError as exc:
        print(f"temporal_setup: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except NotReady as exc:
        print(
            f"temporal_setup: Temporal at {settings.temporal_address} was not ready within "
            f"{args.wait}s ({exc}); check the temporal service's log",
            file=sys.stderr,
        )
        return ExitCode.UNAVAILABLE
    log.info(
        "temporal namespace ready",
        namespace=settings.temporal_namespace,
        created=created,
        search_attributes_added=added or "none (all present)",
    )
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
