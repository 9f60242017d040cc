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
_SCHEDULER = re.compile(r"(?P<scheme>[a-z]+)://\S+:(?P<port>\d+)")
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
"""The schemes of distributed's comms that reach a scheduler of another process (not
`inproc`, which is an address inside one process)."""


def check_scheduler(address: str) -> None:
    """Refuse a --scheduler that is not an address of the form PROTOCOL://HOST:PORT, with
    one of distributed's schemes for another process (`SCHEDULER_SCHEMES`) and a port of
    1 to 65535 (whether a scheduler answers there is found out on connecting). Before,
    foo:// or a port of 99999 passed, and were refused only after the log was read (the
    port after the whole connect timeout, as if no scheduler were there)."""
    named = _SCHEDULER.fullmatch(address)
    if not named:
        raise InputError(f"{address!r} is not a scheduler address like tcp://HOST:8786",
                         field="--scheduler")
    if named["scheme"] not in SCHEDULER_SCHEMES:
        raise InputError(f"{address!r}: {named['scheme']}:// is not a scheme a scheduler is "
                         f"reached by (known: {', '.join(SCHEDULER_SCHEMES)})",
                         field="--scheduler")
    if not 0 < int(named["port"]) < 1 << 16:
        raise InputError(f"{address!r}: the port must be 1 to 65535", field="--scheduler")


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

__all__ = ["ENGINES", "LOCAL", "SCHEDULER_SCHEMES", "EngineSpec", "check_scheduler"]
