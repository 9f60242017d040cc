"""The Dask engine: the rules and the conformance alignments run on the workers of a Dask
cluster, one partition of the log per task; the client combines the results exactly as
`audit.rules.engine.run_rules` would have produced them on the whole log (see docs/dask.md).

Partitioning. Every rule but three compares the events of one case only. duplicate-refund
(DU001) compares successful payouts of the same charge (or, without a charge id, the same
order) across cases, refund-exceeds-charge (EV005) adds up the payouts of one charge over
all cases and reads the charge's amount from a purchase event, possibly of another case, and
receipt-reused (DU002) compares the receipts (`evidence:receipt`, as it reads them) of all
cases. So a partition holds whole connected components of the graph "case - charge id -
order id - receipt" (any event of a case that names a charge, an order or a receipt links
the case to it; a receipt only where receipt-reused runs, and not a generic one): every
group these rules compare is inside one partition, and no per-case rule ever sees a case
cut in two.

On the workers: the rule checks (findings before precedence and waivers), and the alignments
of the partition's cases (per unique variant, as locally). On the client: severity overrides,
precedences (per case), waivers, the sort, the counts, and the conformance summary per
channel: fitness from the per-variant alignments of all partitions, and precision
(ETConformance, which does not decompose over cases) in one task per channel over all of the
channel's traces in the local engine's order.

The policy's SOP files are read on the client and shipped with the tasks; a worker writes
them to its temporary folder, so workers need the project installed (same version), not the
client's files. Paths a worker used are translated back to the client's in the results.

dask and distributed are imported only when this engine runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.engines import EngineSpec, check_scheduler
from audit.errors import InputError
from audit.findings import Finding
from audit.policy import Policy
from audit.rules.base import Rule
from audit.rules.duplicates.du002_receipt_reused import (
    RECEIPT,
    generic_receipts,
    receipt_keys,
)
from audit.rules.engine import (
    AuditResult,
    RuleError,
    WaiverStatus,
    _severity_overrides,
    finish_findings,
    selected_rules,
    side_facts,
)
from audit.rules.evidence.ev001_missing_evidence import ORDER_EVIDENCE, names_known_order
from audit.rules.facts import CaseFacts
from audit.rules.registry import RuleSet
from audit.words import counted

if TYPE_CHECKING:
    from conformance.deviations import ConformanceResult

Client = Any
"""A distributed.Client (distributed's API is not typed; its calls are made through Any)."""

PARTITIONS_PER_THREAD = 4
"""Most partitions per worker thread by default: enough to balance uneven partitions."""
EVENTS_PER_PARTITION = 5_000
"""Fewest events per partition by default: each task pays for building the SOP's search
engine, so a small log is cut into few partitions."""


def default_partitions(events: int, threads: int) -> int:
    return max(1, min(PARTITIONS_PER_THREAD * max(1, threads),
                      -(-events // EVENTS_PER_PARTITION)))


# --- partitioning ------------------------------------------------------------------------------


def case_components(log: pd.DataFrame, *, receipts: bool = True,
                    generic: Collection[str] = frozenset()) -> dict[str, str]:
    """Case id -> the first case id (in sorted order) of its connected component, where cases
    are connected through the charge ids and order ids their events name, an order named
    by an `evidence:order` item too where the log knows it (`names_known_order`: an
    `order:id` of an event not holding such an item; missing-evidence compares only those
    with the orders of every case: one naming another case's order is no evidence). An item
    naming no known order (a placeholder, a document, `n/a`, `order.pdf`) links nothing,
    so the cases sharing it are not collapsed into one component. Cases are connected
    through a receipt as receipt-reused compares them (`receipt_keys`: normalised, a
    placeholder or a value naming no receipt links nothing), where `receipts` (the run's
    rules hold receipt-reused), and not through a key of `generic` (held by more cases than
    the policy's `receipt_max_cases`: the rule compares no case on it; linked, one phone's
    `IMG_0001.jpg` in every case put the whole log in one partition)."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            # The smaller key becomes the root, so a component is named by its first case.
            parent[max(ra, rb)] = min(ra, rb)

    cases = sorted(log[C.CASE].astype(str).unique())
    for case in cases:
        parent["0" + case] = "0" + case  # "0" sorts before "1", "2": a case names its root
    naming = (names_known_order(log[ORDER_EVIDENCE], log[C.ORDER_ID])
              if ORDER_EVIDENCE in log.columns and C.ORDER_ID in log.columns else None)
    for prefix, column in (("1", C.CHARGE_ID), ("2", C.ORDER_ID), ("2", ORDER_EVIDENCE),
                           ("3", RECEIPT)):
        if column not in log.columns or (column == RECEIPT and not receipts):
            continue
        values: pd.Series = log[column]
        if column == ORDER_EVIDENCE:
            if naming is None:
                continue
            rows = naming
        elif column == RECEIPT:
            keys = receipt_keys(log[column].array)
            rows = pd.notna(keys)
            if generic:
                rows &= ~np.isin(keys, np.asarray(sorted(generic), dtype=object))
            values = pd.Series(keys, index=log.index, dtype=object)
        else:
            rows = log[column].notna().to_numpy(dtype=bool)
        linked = pd.DataFrame({C.CASE: log[C.CASE], column: values})
        linked = linked.loc[rows].astype(str).drop_duplicates()
        for case, key in zip(linked[C.CASE], linked[column], strict=True):
            node = prefix + key
            parent.setdefault(node, node)
            union("0" + case, node)
    return {case: find("0" + case)[1:] for case in cases}


def partition_log(log: pd.DataFrame, partitions: int, *, receipts: bool = True,
                  generic: Collection[str] = frozenset()) -> list[pd.DataFrame]:
    """The log cut into at most `partitions` frames of whole components (see
    `case_components`, with `receipts` and `generic`: receipts link cases only where
    receipt-reused runs, and generic ones never), balanced by events; rows keep their order
    within a frame."""
    case_ids = log[C.CASE].astype(str)
    component = case_components(log, receipts=receipts, generic=generic)
    sizes = case_ids.map(component).value_counts()
    loads = [0] * max(1, min(partitions, len(sizes)))
    slot: dict[str, int] = {}
    for root, size in sorted(sizes.items(), key=lambda item: (-int(item[1]), str(item[0]))):
        target = min(range(len(loads)), key=lambda i: (loads[i], i))
        loads[target] += int(size)
        slot[str(root)] = target
    which = case_ids.map({c: slot[root] for c, root in component.items()}).to_numpy()
    parts = [part for i in range(len(loads)) if not (part := log[which == i]).empty]
    for part in parts:  # shipped with its own ids only, not every category of the log
        C.own_categories(part)
    return parts


# --- shipping the SOP files --------------------------------------------------------------------


@dataclass(frozen=True)
class ShippedSop:
    """One SOP file as the client read it: its path there, and its bytes."""

    client_path: str
    content: bytes
    sha256: str

    def materialise(self) -> str:
        """The path of a copy of the file on this machine (written once per content and
        client path: two client files of one name and content keep two copies, so that a
        finding names the file of its own channel)."""
        place = hashlib.sha256(self.client_path.encode("utf-8", "surrogatepass")).hexdigest()
        folder = Path(tempfile.gettempdir()) / "refund-audit-sop" / self.sha256 / place[:16]
        target = folder / (Path(self.client_path).name or "sop.bpmn")
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            scratch = folder / f".{target.name}.{os.getpid()}.{threading.get_ident()}"
            scratch.write_bytes(self.content)
            os.replace(scratch, target)
        return str(target)


def ship_policy(policy: Policy) -> tuple[Policy, tuple[ShippedSop, ...]]:
    """The policy with each SOP entry set to the path the client resolves it to, and the
    SOP files' contents. A missing file is not shipped (the rules report it, as locally)."""
    entries: dict[str, str] = {}
    shipped: dict[str, ShippedSop] = {}
    for key in policy.sop:
        path = policy.sop_path(None if key == "*" else key)
        if path is None:
            continue
        entries[key] = str(path)
        if str(path) not in shipped and path.is_file():
            content = path.read_bytes()
            shipped[str(path)] = ShippedSop(str(path), content,
                                            hashlib.sha256(content).hexdigest())
    return replace(policy, sop=entries), tuple(shipped.values())


def _localise(policy: Policy, sops: Sequence[ShippedSop]) -> tuple[Policy, dict[str, str]]:
    """On a worker: the policy reading the local copies of the SOPs, and local -> client
    path for translating results back."""
    local = {s.client_path: s.materialise() for s in sops}
    entries = {k: local.get(v, v) for k, v in policy.sop.items()}
    return replace(policy, sop=entries), {v: k for k, v in local.items() if k != v}


def _translate(finding: Finding, back: dict[str, str]) -> Finding:
    if not back:
        return finding
    for key, value in finding.evidence.items():
        if isinstance(value, str) and value in back:
            finding.evidence[key] = back[value]
    for local, client in back.items():
        finding.message = finding.message.replace(local, client)
    return finding


# --- on the workers ----------------------------------------------------------------------------


class PartitionFacts(CaseFacts):
    """CaseFacts of one partition: conformance aligns in this process (the cluster is the
    parallelism) and leaves precision to the client's per-channel task."""

    @property
    def conformance(self) -> ConformanceResult:
        if self._conformance is None:
            self._conformance = self.compute_conformance(with_precision=False, processes=1)
        return self._conformance


@dataclass
class PartitionResult:
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    """Rule code -> its findings in the partition, before precedences and waivers."""
    errors: dict[str, RuleError] = field(default_factory=dict)
    conformance: ConformanceResult | None = None
    cases: int = 0
    events: int = 0
    side: dict[str, object] = field(default_factory=dict)
    """The partition's `engine.side_facts` (its cases' channels, the roles not recorded)."""


def run_partition(log: pd.DataFrame, policy: Policy, sops: Sequence[ShippedSop],
                  rule_classes: Sequence[type[Rule]], as_of: datetime,
                  generic: frozenset[str] = frozenset()) -> PartitionResult:
    """The rules' checks over one partition (a task on a worker); `generic`, the whole
    log's generic receipts (`generic_receipts`), which receipt-reused does not compare
    (a partition holds only some of the cases holding one)."""
    policy, back = _localise(policy, sops)
    facts = PartitionFacts(log, policy, as_of)
    facts.generic_receipts = generic
    # The rules the run judges, as run_rules tells its facts (`CaseFacts.judges`).
    facts.running = frozenset(rule_class.code for rule_class in rule_classes)
    # The counts run_rules reports (cases with an id, all events), read off the log itself.
    out = PartitionResult(cases=int(log[C.CASE].nunique()), events=len(log))
    for rule_class in rule_classes:
        rule = rule_class()
        try:
            produced = list(rule.check(facts))
        except Exception as exc:  # recorded as the run's error, as locally
            out.errors[rule.code] = RuleError(rule.code, rule.name,
                                              f"{type(exc).__name__}: {exc}",
                                              traceback.format_exc())
            continue
        out.findings[rule.code] = [_translate(f, back) for f in produced]
    out.side = side_facts(facts, [rule_class() for rule_class in rule_classes], out.errors)
    if facts.conformance_computed:
        out.conformance = facts.conformance
    return out


def conform_partition(log: pd.DataFrame, policy: Policy, sops: Sequence[ShippedSop],
                      as_of: datetime) -> ConformanceResult:
    """The alignments of one partition whose rules did not need them (a task)."""
    policy, _ = _localise(policy, sops)
    return PartitionFacts(log, policy, as_of).conformance


def channel_precision(sop: ShippedSop, traces: list[list[str]], process: str | None = None
                      ) -> tuple[float | None, float]:
    """ETConformance precision of all of a channel's traces on its SOP (its process
    `process` where the policy names one; a task), and the seconds it took."""
    from conformance.align import precision
    from conformance.deviations import sop_net

    started = time.perf_counter()
    value = precision(sop_net(Path(sop.materialise()), process), traces)
    return value, time.perf_counter() - started


# --- on the client -----------------------------------------------------------------------------


def _combine_conformance(client: Client, parts: Sequence[ConformanceResult],
                         case_order: Sequence[str], policy: Policy,
                         sops: Sequence[ShippedSop],
                         gather: Callable[[list[Any]], list[Any]]) -> ConformanceResult:
    """One ConformanceResult as check_conformance gives for the whole log."""
    from conformance.align import Alignment, Variant, log_fitness
    from conformance.deviations import CaseConformance, ChannelConformance, ConformanceResult

    judged = {case_id: case for part in parts for case_id, case in part.cases.items()}
    seconds: dict[str, float] = {}
    for part in parts:
        for key, channel_result in part.channels.items():
            seconds[key] = seconds.get(key, 0.0) + channel_result.seconds
    by_channel: dict[str, list[str]] = {}
    for case_id in case_order:
        if case_id in judged:
            by_channel.setdefault(judged[case_id].channel, []).append(case_id)

    shipped = {s.client_path: s for s in sops}
    precisions: dict[str, Any] = {}
    if policy.conformance.precision:
        for channel, case_ids in by_channel.items():
            path = str(policy.sop_path(channel))
            traces = [list(judged[c].variant) for c in case_ids]
            if path in shipped:
                precisions[channel] = client.submit(channel_precision, shipped[path], traces,
                                                    policy.sop_process(channel), pure=False)
    done: dict[str, tuple[float | None, float]] = dict(
        zip(precisions, gather(list(precisions.values())), strict=True))

    cases: dict[str, CaseConformance] = {}  # filled below, in the local engine's order
    result = ConformanceResult(cases=cases)
    for channel, case_ids in sorted(by_channel.items()):
        # Per variant, and whether its cases run at the clock (their alignment is the
        # variant's cut one): its cases and its alignment.
        counts: dict[tuple[Variant, bool], int] = {}
        alignments: dict[tuple[Variant, bool], Alignment] = {}
        for case_id in case_ids:
            case = judged[case_id]
            of = (case.variant, case.running)
            counts[of] = counts.get(of, 0) + 1
            alignments.setdefault(of, case.alignment)
            cases[case_id] = case
        variants = {v for v, _ in counts}
        value, precision_seconds = done.get(channel, (None, 0.0))
        key = channel or "(no channel)"
        result.channels[key] = ChannelConformance(
            sop=str(policy.sop_path(channel)), cases=len(case_ids), variants=len(variants),
            fitness=log_fitness((alignments[v], n) for v, n in counts.items()),
            precision=value,
            fitting_cases=sum(n for v, n in counts.items() if alignments[v].fits),
            # (a bounded alignment is never cut: its cases never run)
            bounded_variants=sum(1 for v in counts if not v[1] and alignments[v].bounded),
            seconds=seconds.get(key, 0.0) + precision_seconds,
            running_cases=sum(n for (_, running), n in counts.items() if running))
    return result


def _combine_side(parts: Sequence[PartitionResult]) -> dict[str, object]:
    """The partitions' `side_facts` as run_rules gives them for the whole log: a case is in
    one partition (`partition_log`), so its channel is its partition's; the roles not
    recorded are summed per label."""
    channels = [cast(pd.Series, p.side["case_channel"]) for p in parts
                if "case_channel" in p.side]
    out: dict[str, object] = {}
    if channels:  # (categories differing between partitions: joined as texts, coded again)
        joined = pd.concat(channels)
        out["case_channel"] = (joined if isinstance(joined.dtype, pd.CategoricalDtype)
                               else joined.astype("category"))
    # The cases each rule left for a later clock: a case is in one partition. A rule that
    # crashed in a partition judged nothing there: its run's error tells of it, and no
    # partition's cases are told (locally, a crashed rule's are none).
    not_due: dict[str, list[object]] = {}
    for part in parts:
        for code, cases in cast(dict[str, list[object]],
                                part.side.get("not_due_cases", {})).items():
            not_due.setdefault(code, []).extend(cases)
    for code in [code for code in not_due if any(code in p.errors for p in parts)]:
        del not_due[code]
    if not_due:
        out["not_due_cases"] = not_due
    # The cases holding events a role rule could not judge (a role not recorded), per rule
    # and reason, alike: a crashed rule's told by no partition.
    unjudged: dict[str, dict[str, list[object]]] = {}
    for part in parts:
        for code, reasons in cast(dict[str, dict[str, list[object]]],
                                  part.side.get("unjudged_cases", {})).items():
            for reason, cases in reasons.items():
                unjudged.setdefault(code, {}).setdefault(reason, []).extend(cases)
    for code in [code for code in unjudged if any(code in p.errors for p in parts)]:
        del unjudged[code]
    if unjudged:  # (each partition's sorted: their runs merged, as one log's are sorted)
        out["unjudged_cases"] = {code: {reason: sorted(cases, key=str)
                                        for reason, cases in reasons.items()}
                                 for code, reasons in unjudged.items()}
    # Where unauthorized-performer (or unauthorized-approver) crashed in a partition, the
    # run's error tells it, and no partition's counts of that rule are told (locally, the
    # crashed rule's counts are none).
    for key, code in (("unrecorded_roles", "SD004"), ("unrecorded_nobody", "SD004"),
                      ("unrecorded_approvals", "AP004"),
                      ("unrecorded_approvals_nobody", "AP004")):
        crashed = any(code in p.errors for p in parts)
        unrecorded = [cast(dict[str, int], p.side[key]) for p in parts
                      if key in p.side and not crashed]
        if unrecorded:
            summed: Counter[str] = Counter()
            for counts in unrecorded:
                summed.update(counts)
            out[key] = dict(sorted(summed.items()))
    return out


def _finish(rules: Sequence[Rule], ruleset: RuleSet, policy: Policy, as_of: datetime,
            parts: Sequence[PartitionResult],
            suppressed_out: list[dict[str, str]] | None = None
            ) -> tuple[list[Finding], list[RuleError], list[WaiverStatus], int]:
    """Severity overrides, precedences, waivers and the sort, as run_rules applies them."""
    overrides = _severity_overrides(ruleset, policy)
    findings: list[Finding] = []
    errors: list[RuleError] = []
    for rule in rules:
        crashed = [p.errors[rule.code] for p in parts if rule.code in p.errors]
        if crashed:  # a rule that crashed on any partition has no findings, as locally
            errors.append(crashed[0])
            continue
        for part in parts:
            for finding in part.findings.get(rule.code, []):
                finding.severity = overrides.get(rule.code, finding.severity)
                findings.append(finding)

    kept, statuses, suppressed = finish_findings(findings, rules, ruleset, policy, as_of,
                                                 suppressed_out=suppressed_out)
    return kept, errors, statuses, suppressed


def answers_as_a_scheduler(address: str, timeout: float) -> None:
    """An input error naming --scheduler unless a Dask comm at `address` connects and
    answers distributed's handshake within `timeout` seconds. distributed's Client waits
    for that handshake without a timeout: a server that accepts the connection and says
    nothing (a port of another service, a firewall's proxy) held `check` forever, and one
    that answers otherwise (an HTTP server: its first bytes read as a frame's length) was
    an internal error (MemoryError), after which the half-made Client printed a traceback
    at the exit. Asked here first, in a loop of its own, bounded by `timeout`; the Client
    is made only where this answered."""
    import asyncio

    import distributed
    import distributed.comm

    dist: Any = distributed  # (distributed's API is not typed)
    arguments = dist.Security().get_connection_args("client")

    async def handshake() -> None:
        comm = await dist.comm.connect(address, timeout=timeout, **arguments)
        await comm.close()

    try:
        _run_apart(lambda: asyncio.run(asyncio.wait_for(handshake(), timeout)))
    except TimeoutError as exc:  # (asyncio.TimeoutError is it)
        raise InputError(f"no Dask scheduler answered at {address} within {timeout:g} s "
                         "(distributed.comm.timeouts.connect); is it a Dask scheduler's "
                         "address?", field="--scheduler") from exc
    except (OSError, ValueError, TypeError) as exc:
        # (refused, unreachable, an unknown host, a scheme distributed lacks; TypeError: a
        # tls:// address without Dask's TLS settings, "TLS expects a ssl_context")
        raise InputError(f"cannot connect to the Dask scheduler at {address}: {exc}",
                         field="--scheduler") from exc
    except Exception as exc:  # (a stranger's bytes read as distributed's frames: MemoryError)
        raise InputError(f"the server at {address} does not answer as a Dask scheduler "
                         f"does ({type(exc).__name__} on reading its answer)",
                         field="--scheduler") from exc


def _worker_version() -> str:
    """On a worker: the version of refund-audit installed there (a worker that cannot
    import this module fails to run it)."""
    from audit import __version__

    return __version__


def refuse_other_versions(client: Client, address: str) -> None:
    """An input error naming --scheduler where a worker of the cluster runs another version
    of refund-audit than this client, or none: the workers run the rules' code of their
    own installation, and another version's findings would be told as this one's without
    a word (docs/dask.md: the workers need the same version). Before, a worker without
    refund-audit failed the run with a traceback only once the tasks were sent."""
    from audit import __version__

    try:
        found: dict[str, Any] = client.run(_worker_version, on_error="return")
    except Exception as exc:  # (the cluster went away, a worker could not be asked)
        raise InputError(f"cannot ask the Dask workers at {address} which refund-audit "
                         f"they run: {type(exc).__name__}: {exc}", field="--scheduler") from exc
    _refuse_unlike(found, __version__, "version",
                   f"the Dask workers at {address} must run refund-audit {__version__}, "
                   f"as this client does (see docs/dask.md)")
    refuse_other_code(client, address)


def _refuse_unlike(found: dict[str, Any], wanted: str, what: str, must: str) -> None:
    """An input error naming --scheduler, `must` and the workers (the first three) whose
    answer in `found` is not `wanted` (each told as "<what> <answer>", or the error the
    worker raised); nothing where all answered `wanted`."""
    other = {worker: (f"{type(value).__name__}: {value}" if isinstance(value, BaseException)
                      else f"{what} {value}")
             for worker, value in sorted(found.items()) if value != wanted}
    if other:
        listed = "; ".join(f"{worker}: {told}" for worker, told in list(other.items())[:3])
        more = f"; and {len(other) - 3} more" if len(other) > 3 else ""
        raise InputError(f"{must}: {counted(len(other), 'worker')} of {len(found)} "
                         f"{'does' if len(other) == 1 else 'do'} not ({listed}"
                         f"{more})", field="--scheduler")


def refuse_other_code(client: Client, address: str) -> None:
    """An input error naming --scheduler and both digests where a worker runs other code of
    refund-audit than this client (another code digest: another build of the same version,
    a development copy): the workers run the rules of their own code, while the manifest
    records the client's code digest, so another build's findings would carry this run's
    id. Asked after the version (`refuse_other_versions`), whose message names versions."""
    from audit import runid

    mine = str(runid.code_digest()["sha256"])

    def worker_code_digest() -> str:
        """On a worker: the code digest of the refund-audit it runs. A function of this
        call, so sent by value (cloudpickle), not by name: a worker of another build that
        has no such function in its dask_engine is still asked, and tells its digest."""
        from audit import runid as workers

        return str(workers.code_digest()["sha256"])

    try:
        found: dict[str, Any] = client.run(worker_code_digest, on_error="return")
    except Exception as exc:  # (the cluster went away, a worker could not be asked)
        raise InputError(f"cannot ask the Dask workers at {address} which code of "
                         f"refund-audit they run: {type(exc).__name__}: {exc}",
                         field="--scheduler") from exc
    _refuse_unlike(found, mine, "code digest",
                   f"the Dask workers at {address} must run the code this client runs "
                   f"(code digest {mine}; see docs/dask.md)")


def _run_apart(work: Callable[[], None]) -> None:
    """`work()` in a thread of its own (a daemon: an interrupt does not wait for it), its
    exception raised here: `asyncio.run` refuses to run in a thread whose event loop is
    running (run_check called from a notebook's cell, or from a coroutine)."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # (handed to the caller)
            failed.append(exc)

    thread = threading.Thread(target=run, name="refund-audit-scheduler-probe", daemon=True)
    thread.start()
    while thread.is_alive():  # (woken every 0.2 s: a signal's handler runs between)
        thread.join(0.2)
    if failed:
        raise failed[0]


def local_workers() -> int:
    """The LocalCluster's workers by default: one per core this process may run on (its
    CPU affinity: `taskset`, a container's or a batch job's cpuset), as the import's
    reading workers count them. Before, `os.cpu_count()`: every core of the machine, so a
    check confined to 2 of 64 cores started 64 workers, each importing pandas and pm4py."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # (no affinity on this system: macOS, Windows)
        return os.cpu_count() or 1


@contextmanager
def _quiet_unless_running(client: Client) -> Iterator[None]:
    """distributed's client logging nothing while it closes, where it lost the scheduler:
    it logged "Failed to reconnect to scheduler ..., closing client" and the tracebacks of
    its cancelled reconnection (asyncio.CancelledError) on stderr, around the error line
    that tells it (`cluster_failures`)."""
    if str(getattr(client, "status", "")) == "running":
        yield
        return
    loggers = [logging.getLogger(name) for name in ("distributed.client", "distributed.utils")]
    was = [each.disabled for each in loggers]
    for each in loggers:
        each.disabled = True
    try:
        yield
    finally:
        for each, disabled in zip(loggers, was, strict=True):
            each.disabled = disabled


def connect_timeout(spec: EngineSpec) -> float:
    """The seconds to wait for the scheduler (and for a worker): the spec's, else Dask's
    `distributed.comm.timeouts.connect`; an input error naming it where it is no time."""
    import dask
    from dask.utils import parse_timedelta

    if spec.connect_timeout is not None:
        return float(spec.connect_timeout)
    # (Dask's configuration: a file, or DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT, as
    # docs/dask.md tells to set it; before, a value of no time was an internal error)
    setting = dask.config.get("distributed.comm.timeouts.connect")
    try:
        timeout = parse_timedelta(setting, default="s")
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError(f"not a time: {setting!r} (write e.g. 5s or 1m)",
                         field="distributed.comm.timeouts.connect") from exc
    if timeout is None or not timeout > 0:
        raise InputError(f"{setting!r}: the time to wait for the scheduler must be "
                         "above 0 (e.g. 5s)",
                         field="distributed.comm.timeouts.connect")
    return float(timeout)


@contextmanager
def dask_client(spec: EngineSpec) -> Iterator[tuple[Client, dict[str, Any]]]:
    """A client of the cluster at `spec.scheduler`, or of a LocalCluster started (and shut
    down) here; with a description of the cluster for the run's manifest."""
    import distributed

    dist: Any = distributed
    timeout = connect_timeout(spec)
    if spec.scheduler is not None:
        check_scheduler(spec.scheduler)  # (EngineSpec has; this is where it is needed)
        answers_as_a_scheduler(spec.scheduler, timeout)
        try:
            client = dist.Client(spec.scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            # (TypeError: a tls:// address without Dask's TLS settings: "TLS expects a
            # ssl_context")
            raise InputError(f"cannot connect to the Dask scheduler at {spec.scheduler}: "
                             f"{exc}", field="--scheduler") from exc
        try:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise InputError(f"the Dask scheduler at {spec.scheduler} has no workers",
                                 field="--scheduler") from exc
            refuse_other_versions(client, spec.scheduler)
            workers = client.scheduler_info(n_workers=-1)["workers"]
            yield client, {"name": "dask", "scheduler": spec.scheduler,
                           "workers": len(workers),
                           "threads": sum(int(w.get("nthreads", 1)) for w in workers.values())}
        finally:
            with _quiet_unless_running(client):
                client.close()
        return
    n_workers = spec.n_workers or local_workers()
    # One thread per worker process: pandas and the A* search hold the GIL.
    with dist.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0",
                      scheduler_kwargs={"dashboard": False},
                      silence_logs=logging.ERROR) as cluster, \
            dist.Client(cluster, set_as_default=False) as client:
        yield client, {"name": "dask",
                       "scheduler": f"LocalCluster {counted(n_workers, 'worker')}",
                       "workers": n_workers, "threads": n_workers}


def _workers_of(client: Client) -> set[str]:
    """The addresses of the cluster's workers now (none where the scheduler cannot be
    asked)."""
    try:
        return set(client.scheduler_info(n_workers=-1)["workers"])
    except Exception:  # (the scheduler gone too)
        return set()


class _NoWorkers(Exception):
    """No worker in the cluster for the time given to wait for one (`_gathered`)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


WATCHED_EVERY = 1.0
"""Seconds between two looks at the cluster's workers while the run waits for its tasks
(`_gathered`)."""


def _gathered(client: Client, futures: list[Any], grace: float) -> list[Any]:
    """The results of `futures` (client.gather), but `_NoWorkers` where the cluster has had
    no worker for `grace` seconds meanwhile: a task waits for a worker for ever, and the
    last worker of a cluster of workers without a nanny (`dask worker --no-nanny`) gone
    held `check` for ever, without a word. (A worker lost with the partitions of the log
    it held cancels the tasks that need them; a scheduler gone cancels every task.)"""
    import distributed

    dist: Any = distributed
    without: float | None = None
    while True:
        try:
            with client.as_current():  # (wait asks for the current client: this one)
                dist.wait(futures, timeout=WATCHED_EVERY)
        except TimeoutError:
            pass
        except CancelledError:  # (told by gather, as a task's)
            break
        else:
            break
        if str(getattr(client, "status", "")) != "running":  # (its tasks are cancelled)
            continue
        if _workers_of(client):
            without = None
            continue
        now = time.monotonic()
        without = now if without is None else without
        if now - without >= grace:
            raise _NoWorkers(grace)
    return list(client.gather(futures))


@contextmanager
def cluster_failures(client: Client, spec: EngineSpec, grace: float | None = None
                     ) -> Iterator[Callable[[list[Any]], list[Any]]]:
    """The cluster failing while the run's tasks run (after the connection and the version
    check) as an input error naming --scheduler (or --engine, for the LocalCluster the run
    started) and what happened, exit code 2 and no traceback, as a scheduler that cannot
    be reached is: a worker that died while running a task, on every worker tried
    (KilledWorker), a worker lost with the partitions of the log it held (the tasks that
    need them cancelled), the scheduler gone (the connection lost, the tasks cancelled),
    no worker left for `grace` seconds (the connect timeout by default: the yielded
    function gathers the results of tasks, `_gathered`).
    Before, each was an internal error with distributed's traceback. An exception a task
    raised itself (a bug) is not one of these: it stays an internal error."""
    import distributed
    from distributed.comm.core import CommClosedError

    dist: Any = distributed
    where = (f"the Dask scheduler at {spec.scheduler}" if spec.scheduler is not None
             else "the LocalCluster this run started")
    field = "--scheduler" if spec.scheduler is not None else "--engine"
    stopped = "the run stopped, nothing was written"
    why = ("the workers' logs say why (a worker killed for its memory, say)"
           if spec.scheduler is not None else "a worker process of this machine ended "
           "(killed for its memory, say)")
    before = _workers_of(client)
    wait = connect_timeout(spec) if grace is None else grace
    try:
        yield lambda futures: _gathered(client, futures, wait)
    except _NoWorkers as exc:
        raise InputError(f"{where} had no worker for {exc.seconds:g} s while the tasks ran "
                         f"(distributed.comm.timeouts.connect): {stopped}; {why}",
                         field=field) from exc
    except dist.KilledWorker as exc:
        raise InputError(f"a worker of {where} died while running the task {exc.task} "
                         f"(on {counted(int(exc.allowed_failures) + 1, 'worker')} in turn, "
                         f"the last {exc.last_worker.address}): {stopped}; {why}",
                         field=field) from exc
    except (CancelledError, CommClosedError, OSError, TimeoutError) as exc:
        status = str(getattr(client, "status", ""))
        reason = str(getattr(exc, "reason", "") or exc)
        if isinstance(exc, CommClosedError) or status != "running" or \
                "scheduler-connection-lost" in reason:
            raise InputError(f"the connection to {where} was lost while the tasks ran (the "
                             f"scheduler stopped, or the network failed): {stopped}",
                             field=field) from exc
        if not isinstance(exc, CancelledError):  # (a task's own error, the client running)
            raise
        lost = sorted(before - _workers_of(client))
        told = (f"{counted(len(lost), 'worker')} left the cluster ({', '.join(lost[:3])}"
                f"{', ...' if len(lost) > 3 else ''}), and the partitions of the log "
                f"{'it' if len(lost) == 1 else 'they'} held with "
                f"{'it' if len(lost) == 1 else 'them'}"
                if lost else "the cluster cancelled the run's tasks (a worker lost with the "
                "partitions of the log it held, or another client cancelled them)")
        raise InputError(f"{told}, while the tasks ran on {where}: {stopped}; {why}",
                         field=field) from exc


def run_rules_dask(log: pd.DataFrame, policy: Policy, ruleset: RuleSet, *, as_of: datetime,
                   spec: EngineSpec, left_out: tuple[dict[str, int], int] | None = None
                   ) -> tuple[AuditResult, dict[str, Any]]:
    """run_rules on a Dask cluster: the same AuditResult, and the engine's description. The
    log is cut at `as_of` as run_rules cuts it (`canonical.at_clock`) before it is
    partitioned; `left_out`: as run_rules', the log is cut already."""
    from audit.progress import current

    progress = current()
    log, not_judged, after_clock = (C.at_clock(log, as_of) if left_out is None
                                    else (log, *left_out))
    # (A --scheduler of no address's form was refused with the EngineSpec, before the import:
    # not only where a cluster is needed, so the error does not depend on the data.)
    if log.empty:  # nothing to partition: the rules' behaviour on no events is the local one
        from audit.rules.engine import run_rules

        result = run_rules(log, policy, ruleset, as_of=as_of)
        result.not_judged, result.after_clock = not_judged, after_clock
        return result, {"name": "dask", "partitions": 0}
    rules = selected_rules(ruleset, policy)
    shipped_policy, sops = ship_policy(policy)
    progress.stage("dask: connecting" if spec.scheduler else "dask: starting a LocalCluster")
    with dask_client(spec) as (client, engine), cluster_failures(client, spec) as gather:
        wanted = spec.partitions or default_partitions(len(log), int(engine["threads"]))
        receipts = any(rule.code == "DU002" for rule in rules)
        generic = (generic_receipts(log[RECEIPT].array, log[C.CASE].array,
                                    policy.receipt_max_cases)
                   if receipts and RECEIPT in log.columns else frozenset())
        progress.stage(f"dask: partitioning {len(log):,} events by case, charge and order"
                       + (" and receipt" if receipts else ""))
        parts = partition_log(log, wanted, receipts=receipts, generic=generic)
        engine["partitions"] = len(parts)
        progress.stage(f"dask: running the rules on {counted(len(parts), 'partition')}, "
                       f"{counted(engine['workers'], 'worker')}")
        data = client.scatter(parts)
        futures = [client.submit(run_partition, part, shipped_policy, sops,
                                 [type(r) for r in rules], as_of, generic, pure=False)
                   for part in data]
        results: list[PartitionResult] = gather(futures)
        extra: dict[str, object] = {}
        if any(r.conformance is not None for r in results):
            # A rule needed the alignments somewhere (e.g. AP004 only where there are
            # approvals): the summary covers every judged case, as locally.
            missing = [i for i, r in enumerate(results) if r.conformance is None]
            filled = gather([client.submit(conform_partition, data[i], shipped_policy,
                                                  sops, as_of, pure=False) for i in missing])
            for i, conformance in zip(missing, filled, strict=True):
                results[i].conformance = conformance
            progress.stage("dask: combining the alignments per channel")
            case_order = log[C.CASE].drop_duplicates().sort_values(kind="stable").astype(
                str).tolist()
            combined = _combine_conformance(
                client, [r.conformance for r in results if r.conformance is not None],
                case_order, policy, sops, gather)
            extra["conformance"] = combined.summary()
            extra["conformance_result"] = combined
    extra.update(_combine_side(results))
    listed: list[dict[str, str]] = []
    findings, errors, statuses, suppressed = _finish(rules, ruleset, policy, as_of, results,
                                                     listed)
    result = AuditResult(findings=findings, errors=errors, waivers=statuses, rules=rules,
                         suppressed=suppressed, as_of=as_of,
                         cases=sum(r.cases for r in results),
                         events=sum(r.events for r in results), extra=extra,
                         severities=_severity_overrides(ruleset, policy),
                         suppressed_findings=listed, not_judged=not_judged,
                         after_clock=after_clock)
    return result, engine


__all__ = ["PartitionFacts", "PartitionResult", "ShippedSop", "case_components",
           "dask_client", "partition_log", "run_partition", "run_rules_dask", "ship_policy"]
