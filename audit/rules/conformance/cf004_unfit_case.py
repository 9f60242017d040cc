from __future__ import annotations

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.conformance.common import with_times
from audit.rules.facts import CaseFacts


class UnfitCase(Rule):
    """What it checks:
    A case as a whole fits its channel's SOP too poorly: its alignment fitness (1 - cost of
    the optimal alignment / cost of the worst one) is below `conformance.min_fitness`, or its
    alignment could not be found within the search bound, so it cannot be shown to fit.
    Without `min_fitness` only the second kind is reported: the deviations themselves are
    skipped-activity, unexpected-activity and wrong-order findings. A case running at the
    audit's clock (see skipped-activity, `conformance.running_for`) is judged on what is due:
    its fitness is 1 - (its alignment's cost without the moves on the SOP tasks after its
    last event) / (the same worst cost).

    Why it matters:
    A summary per case for triage: a case far from the SOP is worth reading in full, whatever
    its single deviations are. A case the aligner gave up on is never counted as fitting.

    Example:
    Violating (with `min_fitness: 0.8`): `Execute payout` alone (fitness 0.17).
    Compliant: a case that follows the SOP (fitness 1.0).

    Options:
    `conformance.min_fitness` (0 to 1; default none). The search bound per variant is that of
    the alignment engine (`conformance.engine`): `conformance.max_states` states visited for
    r4pm (default 5,000,000; the engine `auto` picks where r4pm is installed),
    `conformance.max_seconds` for pm4py (default 10); the other engine's key has no effect.

    References:
    van der Aalst, Adriansyah, van Dongen: Replaying history on process models (2012).
    """

    code = "CF004"
    name = "unfit-case"
    severity = "low"
    logic_version = 4
    summary = "A case fits its SOP too poorly, or could not be aligned"
    reads_sop = "net"
    options = (Option("minimum fitness", "case fitness below which a case is reported",
                      "conformance.min_fitness"),
               Option("alignment engine", "auto, r4pm or pm4py: whose search bound applies",
                      "conformance.engine"),
               Option("search bound (r4pm)", "states visited per variant before giving up",
                      "conformance.max_states"),
               Option("search bound (pm4py)", "seconds per variant before giving up",
                      "conformance.max_seconds"),
               Option("running for", "a case with an event this recent, not at an end of "
                      "its SOP, is judged on what is due", "conformance.running_for"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        if not facts.policy.sop:
            return []
        from conformance.deviations import unfit_cases  # with the models' modules: 0.16 s

        threshold = facts.policy.conformance.min_fitness
        rows = []
        for case in unfit_cases(facts.conformance.cases, threshold):
            fitness = case.fitness
            rows.append({"case": case.case_id, "eids": list(case.event_ids),
                         "fitness": None if fitness is None else round(fitness, 4),
                         "verdict": ("not aligned within the search bound" if case.bounded
                                     else f"fitness {fitness:.2f} below {threshold}"),
                         "sop": str(facts.sop_name(case.channel))})
        matches = with_times(facts, rows)
        if matches.empty:
            return []
        return self.findings(facts, matches, events=("eids",), when="when",
                             evidence=("fitness", "sop"),
                             message="does not fit the SOP: {verdict}")
