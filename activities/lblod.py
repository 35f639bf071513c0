"""The harvester's side effects: which publications to read, and reading one (fetch, match
against every open trajectory that waits for its authorities, record, notify, remember).

A publication is read once: its (URL, sha256) goes into `lblod_readings` after it was
handled, so a retried activity or the next day's run skips it, while a page that changed is
read again. Recording goes through the trajectory's `decide` update, which takes the same
decision twice as a no-op, so a crash between recording and remembering changes nothing.
"""

from __future__ import annotations

from collections import defaultdict

import asyncpg
from temporalio import activity

from db.lblod import list_sources, notify_coordinator, open_trajectories, record_reading, was_read
from lblod.fetch import Fetcher
from lblod.harvest import HarvestInput, HarvestPlan, ReadSource, SourceResult, SourceToRead
from lblod.reader import PublicationError, read_publication
from lblod.service import match_trajectory, record
from operations.messages import Refused
from operations.queries import TrajectoryClosed, TrajectoryNotFound, WorkerTrouble


class LblodActivities:
    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool

    @activity.defn(name="lblod_harvest_plan")
    async def plan(self, inp: HarvestInput) -> HarvestPlan:
        """The publication URLs of authorities with harvesting on that an open trajectory
        still waits for, each URL once."""
        async with self._pool.acquire() as conn:
            sources = await list_sources(conn, harvest_only=True)
            pending = {a for t in await open_trajectories(conn) for a in t.pending}
        by_url: dict[str, list[str]] = defaultdict(list)
        for source in sources:
            if source.publication_url and source.authority_id in pending:
                by_url[source.publication_url].append(source.authority_id)
        return HarvestPlan(
            sources=tuple(
                SourceToRead(url=url, authorities=tuple(sorted(ids)))
                for url, ids in sorted(by_url.items())
            )
        )

    @activity.defn(name="lblod_harvest_source")
    async def read_source(self, inp: ReadSource) -> SourceResult:
        url = inp.source.url
        try:
            data = await Fetcher(timeout=inp.fetch_timeout_seconds).fetch(url)
            publication = read_publication(data, url)
        except PublicationError as exc:
            # Reported, not remembered: tomorrow's run tries the page again.
            return SourceResult(url=url, outcome="failed", messages=(str(exc),))
        async with self._pool.acquire() as conn:
            if await was_read(conn, url, publication.sha256):
                return SourceResult(url=url, outcome="already-read")
            trajectories = [
                t
                for t in await open_trajectories(conn)
                if set(t.pending) & set(inp.source.authorities)
            ]
        client = activity.client()
        recorded: list[str] = []
        messages: list[str] = []
        for trajectory in trajectories:
            try:
                async with self._pool.acquire() as conn:
                    _, result = await match_trajectory(
                        client, conn, trajectory.workflow_id, publication
                    )
            except (TrajectoryNotFound, TrajectoryClosed, WorkerTrouble) as exc:
                messages.append(f"{trajectory.workflow_id}: {exc}")
                continue
            messages += [
                f"{trajectory.workflow_id}: {r.text}"
                for r in result.reasons
                if r.authority_id in inp.source.authorities
            ]
            for proposal in result.proposals:
                if proposal.authority_id not in inp.source.authorities:
                    continue
                line = (
                    f"{proposal.authority_id} {proposal.step_id} "
                    f"{proposal.outcome.value if proposal.outcome else 'unclear'} "
                    f"({proposal.session_date}, {proposal.reference})"
                )
                key = ":".join(
                    (
                        trajectory.trajectory_id,
                        "lblod",
                        publication.sha256[:16],
                        proposal.authority_id,
                    )
                )
                if not proposal.recordable:
                    subject = (
                        f"Gepubliceerde beslissing van {proposal.authority_id}: zelf beoordelen"
                    )
                    body = (
                        f"De publicatie {url} bevat een beslissing van {proposal.authority_id} "
                        "over "
                        f"{proposal.step_id} waarvan het resultaat niet eenduidig is "
                        f"({proposal.basis}). Ze werd niet geregistreerd; registreer ze met "
                        f"`starter.py decide`. Referentie: {proposal.reference}."
                    )
                    messages.append(f"{trajectory.workflow_id}: {line}: not recorded, unclear")
                else:
                    try:
                        await record(client, trajectory.workflow_id, proposal, publication)
                    except (Refused, TrajectoryClosed, WorkerTrouble) as exc:
                        messages.append(f"{trajectory.workflow_id}: {line}: refused: {exc}")
                        continue
                    recorded.append(f"{trajectory.workflow_id}: {line}")
                    subject = f"Beslissing van {proposal.authority_id} geregistreerd uit LBLOD"
                    body = (
                        f"De beslissing van {proposal.authority_id} over {proposal.step_id} "
                        f"(zitting van {proposal.session_date}, {proposal.basis}) werd gelezen "
                        f"uit {url} en geregistreerd. Referentie: {proposal.reference}."
                    )
                async with self._pool.acquire() as conn:
                    await notify_coordinator(conn, key, trajectory.trajectory_id, subject, body)
        async with self._pool.acquire() as conn:
            await record_reading(
                conn,
                url,
                publication.sha256,
                len(recorded),
                {"recorded": recorded, "messages": messages},
            )
        activity.logger.info("publication read", extra={"url": url, "recorded": len(recorded)})
        return SourceResult(
            url=url,
            outcome="recorded" if recorded else "nothing-matched",
            recorded=tuple(recorded),
            messages=tuple(messages),
        )
