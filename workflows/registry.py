"""The workflows a worker registers."""

from __future__ import annotations

from workflows.harvester import LblodHarvester
from workflows.trajectory import InkantelingTrajectory

WORKFLOWS: list[type] = [InkantelingTrajectory, LblodHarvester]
