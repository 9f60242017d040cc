"""Where the rules run: `local` (in this process, audit.rules.engine.run_rules) or `dask`
(partitions of the log on a Dask cluster, audit.engines.dask_engine).

Nothing here imports dask; the dask engine is imported only when it is chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from audit.errors import InputError

ENGINES = ("local", "dask")
_SCHEDULER = re.compile(r"[a-z]+://\S+:\d+")


def check_scheduler(address: str) -> None:
    """Refuse a --scheduler that is not an address of the form PROTOCOL://HOST:PORT (whether
    a scheduler answers there is found out on connecting)."""
    if not _SCHEDULER.fullmatch(address):
        raise InputError(f"{address!r} is not a scheduler address like tcp://HOST:8786",
                         field="--scheduler")


@dataclass(frozen=True)
class EngineSpec:
    """The engine of one run and its settings."""

    name: str = "local"
    scheduler: str | None = None
    """dask: the address of a running scheduler (tcp://HOST:PORT); None starts a LocalCluster."""
    n_workers: int | None = None
    """dask LocalCluster: worker processes (default: one per core)."""
    partitions: int | None = None
    """dask: number of partitions of the log (default: 4 per worker thread)."""
    connect_timeout: float | None = None
    """dask: seconds to wait for the scheduler (default: dask's `distributed.comm.timeouts.
    connect`)."""

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise ValueError(f"unknown engine {self.name!r} (known: {', '.join(ENGINES)})")
        # Checked here, with the options, not where the cluster is first needed: a log with
        # no event to judge needs none, and the error must not depend on the data.
        if self.scheduler is not None:
            check_scheduler(self.scheduler)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


LOCAL = EngineSpec()

__all__ = ["ENGINES", "LOCAL", "EngineSpec", "check_scheduler"]
