"""`compare --channel` and `discover --channel`: a log's cases of one channel only.

A case's channel is decided as `check` decides it (`audit.rules.facts.channels_of_cases`:
its ticket's, else the first its events state by time), on the log's completions and with a
policy telling which labels are ticket events (`compare --policy`, `discover --policy`, else
the bundled default policy, as `check` reads it without `--policy`). Cases stating no
channel are left out under `--channel` and counted; nothing is filtered without the option,
but a log of several channels is noted (`Channels.note`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.errors import InputError
from audit.words import counted

if TYPE_CHECKING:
    import pandas as pd

    from audit.policy import Policy

OPTION = "--channel"


@dataclass(frozen=True)
class Channels:
    """A log's cases by channel (each case's channel as check decides it), and the channel
    kept (`--channel`; None: every case)."""

    counts: dict[str, int] = field(default_factory=dict)
    """Per channel the cases state, its cases (by name)."""
    without: int = 0
    """The cases stating no channel."""
    channel: str | None = None

    @property
    def cases(self) -> int:
        """Every case of the log (its completions'), before `--channel`."""
        return sum(self.counts.values()) + self.without

    @property
    def kept(self) -> int:
        """The cases kept: those of `channel`, else all."""
        return self.cases if self.channel is None else self.counts.get(self.channel, 0)

    def as_dict(self) -> dict[str, Any]:
        """compare.json's and discovery.json's record of the filter: what was computed on."""
        return {"channel": self.channel, "cases": self.cases, "kept": self.kept,
                "without_channel": self.without, "by_channel": dict(self.counts)}

    def stated(self) -> str:
        """"3 channels (ecommerce 141 cases, offline 62, subscription 97)", and "; 12 cases
        state none" where some do."""
        parts = [f"{channel} {n:,}" for channel, n in self.counts.items()]
        if parts:
            parts[0] += " case" if self.counts[next(iter(self.counts))] == 1 else " cases"
        told = (f"{counted(len(self.counts), 'channel')} ({', '.join(parts)})" if parts
                else "no channel")
        if self.without and parts:
            told += (f"; {counted(self.without, 'case', spec=',')} "
                     f"state{'s' if self.without == 1 else ''} none")
        return told

    def kept_text(self) -> str:
        """"--channel ecommerce: 141 of 300 cases; 12 cases state no channel and are left
        out" (the filter's note)."""
        text = f"{OPTION} {self.channel}: {self.kept:,} of {counted(self.cases, 'case', spec=',')}"
        if self.without:
            one = self.without == 1
            text += (f"; {counted(self.without, 'case', spec=',')} state{'s' if one else ''} "
                     f"no channel and {'is' if one else 'are'} left out")
        return text

    def note(self, who: str | None, done: str, verb: str, sop_of: str | None = None,
             model: str | None = None) -> str | None:
        """The note on the log `who` ("as-is log"; None: the one log, discover's): with
        `--channel`, what was kept (`kept_text`); without it, where its cases state several
        channels (or the other side is the SOP of one of them, `sop_of`, the `model` side's
        name, and other cases are mixed in), that all are `done` ("compared") as one log,
        naming the option with a channel (`sop_of` where the log has its cases, else the
        one of the most cases) to `verb` ("compare") one; where the log states one channel
        only and the model is another channel's SOP, that too. None where there is nothing
        to tell."""
        said, subject = (f"{who}: ", "its cases") if who else ("", "the log's cases")
        if self.channel is not None:
            return said + self.kept_text()
        of_sop = self.counts.get(sop_of, 0) if sop_of else 0
        if len(self.counts) < 2 and not (of_sop and of_sop < self.cases):
            if sop_of and self.counts and not of_sop:
                return (f"{said}{subject} state {self.stated()}, none {sop_of}: the "
                        f"{model or 'model'} compared with is the {sop_of} SOP (check aligns "
                        "each case with its own channel's SOP)")
            return None
        if of_sop:
            pick = sop_of
            why = f" (the {model or 'model'} is the {sop_of} SOP)"
        else:
            pick = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[0][0]
            why = ""
        return (f"{said}{subject} state {self.stated()}: all are {done} as one log (check "
                f"aligns each case with its own channel's SOP): give {OPTION} {pick}{why} to "
                f"{verb} its cases only")


def log_channels(log: pd.DataFrame, policy: Policy | None = None) -> pd.Series:
    """Per case of `log`'s completions (indexed by case id): its channel as check decides
    it, missing where none is stated; `policy` (None: the bundled default policy, as
    check reads it without --policy) tells which labels are ticket events."""
    from audit.rules.facts import channels_of_cases

    if policy is None:
        from audit.policy import default_policy_path, load_policy

        policy = load_policy(default_policy_path())
    return channels_of_cases(log, policy)


def select_channel(log: pd.DataFrame, channel: str | None, policy: Policy | None = None,
                   *, file: Path | str | None = None) -> tuple[pd.DataFrame, Channels]:
    """`log` with only the cases of `channel` (all of it where None), and its cases by
    channel. InputError (exit 2) naming `--channel`, `file` and the channels the log's
    cases state where `channel` keeps no case."""
    from audit import canonical as C

    if C.CHANNEL not in log.columns:
        cases = int(C.completions(log)[C.CASE].nunique())
        channels = Channels({}, cases, channel)
        of_case = None
    else:
        of_case = log_channels(log, policy)
        stated = of_case.dropna().astype(str)
        counts = {str(k): int(n) for k, n in sorted(stated.value_counts().items())}
        channels = Channels(counts, int(of_case.isna().sum()), channel)
    if channel is None:
        return log, channels
    if channels.kept == 0:
        where = (f"its cases state {channels.stated()}" if channels.counts
                 else f"no case of the log states a channel ({C.CHANNEL})")
        raise InputError(f"{OPTION} {channel} keeps no case: {where}", file=file,
                         field=OPTION)
    assert of_case is not None  # (a channel kept a case: the log states channels)
    ids = of_case.index[(of_case == channel).fillna(False).to_numpy(dtype=bool)]
    kept = log.loc[log[C.CASE].isin(ids).to_numpy(dtype=bool)].reset_index(drop=True)
    return kept, channels


def sop_channel(path: Path, process: str | None, policy: Policy | None = None
                ) -> str | None:
    """The channel whose SOP the model `path` (its `process`) is by `policy`'s sop entries
    (None: the bundled default policy's: ecommerce.bpmn, subscription.bpmn, offline.bpmn),
    by the file's content; None where it is none's, or several channels'."""
    from audit import canonical as C
    from audit.digest import sha256_of

    if policy is None:
        from audit.policy import default_policy_path, load_policy

        policy = load_policy(default_policy_path())
    digest = sha256_of(path)
    found = []
    for channel in C.CHANNELS:
        sop = policy.sop_path(channel) if policy.sop.get(channel) else None  # (not '*')
        if (sop is not None and sop.is_file() and sha256_of(sop) == digest
                and (process is None or process == policy.sop_process(channel))):
            found.append(channel)
    return found[0] if len(found) == 1 else None  # (the SOP of several: of none by name)
