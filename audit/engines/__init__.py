"""Where the rules run: `local` (in this process, audit.rules.engine.run_rules) or `dask`
(partitions of the log on a Dask cluster, audit.engines.dask_engine).

Nothing here imports dask; the dask engine is imported only when it is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ENGINES = ("local", "dask")


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

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


LOCAL = EngineSpec()

__all__ = ["ENGINES", "LOCAL", "EngineSpec"]
