"""`refund-audit import` of several exports at once: --source, --project, detection, config."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit import canonical as C
from audit.cli import main
from audit.errors import InputError
from audit.sample import SampleSpec, write_sample
from audit.sources.config import load_sources_config
from audit.sources.project import load_project, parse_source

REPO = Path(__file__).resolve().parents[1]
EXPORTS = REPO / "sample_logs" / "refund-sample" / "exports"
DATA = Path(__file__).parent / "data" / "sources"


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result


def test_bundled_exports_are_current(tmp_path: Path) -> None:
    write_sample(SampleSpec(channel="all", cases=300, seed=42, violation_rate=0.25), tmp_path)
    fresh = sorted(p.name for p in (tmp_path / "exports").iterdir())
    assert fresh == sorted(p.name for p in EXPORTS.iterdir())
    for name in fresh:
        assert (EXPORTS / name).read_bytes() == (tmp_path / "exports" / name).read_bytes(), (
            f"exports/{name} is stale: run `make sample-logs`")


def test_import_named_sources_and_detected_ones(tmp_path: Path) -> None:
    out = tmp_path / "log.parquet"
    result = run("import", "--source", f"zendesk:{EXPORTS / 'zendesk_ticket_audits.json'}",
                 "--source", f"stripe:{EXPORTS / 'stripe_refunds.csv'}",
                 str(EXPORTS / "stripe_charges.csv"),
                 "--source", f"roles:{EXPORTS / 'role_history.csv'}", "--out", str(out))
    assert "stripe_charges.csv (stripe): read" in result.output
    assert "payout case(s) without a ticket" in result.output
    log = pd.read_parquet(out)
    assert set(log[C.CHANNEL]) == {"ecommerce"}
    assert log[C.ROLE].notna().sum() > 0.95 * len(log)


def test_import_a_project_file(tmp_path: Path) -> None:
    project = tmp_path / "audit.yaml"
    project.write_text(
        "sources:\n"
        f"  - jira: {EXPORTS / 'jira_issues.json'}\n"
        f"  - {EXPORTS / 'paypal_activity.csv'}\n"
        f"roles: {EXPORTS / 'role_history.csv'}\n", encoding="utf-8")
    loaded = load_project(project)
    assert [fmt for _, fmt in loaded.sources] == ["jira", None, "roles"]
    result = run("import", "--project", str(project), "--out", str(tmp_path / "log.parquet"))
    assert "paypal_activity.csv (paypal)" in result.output
    log = pd.read_parquet(tmp_path / "log.parquet")
    assert set(log[C.SOURCE_SYSTEM]) == {"jira", "paypal"}


def test_the_project_file_docs_sources_md_shows_imports(tmp_path: Path) -> None:
    """`import --project`'s help points at docs/sources.md, which did not say what a project
    file holds. Its example, with the files it names in place, imports as it says."""
    import re
    import shutil

    text = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    section = text[text.index("## The project file"):]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None
    project = tmp_path / "audit-q3.yaml"
    project.write_text(example[1], encoding="utf-8")
    shutil.copytree(EXPORTS, tmp_path / "exports")
    shutil.copy(REPO / "models" / "sources.default.yaml", tmp_path / "sources.yaml")
    loaded = load_project(project)
    assert [(p.relative_to(tmp_path).as_posix(), fmt) for p, fmt in loaded.sources] == [
        ("exports/zendesk_ticket_audits.json", "zendesk"), ("exports/stripe_refunds.csv", None),
        ("exports/stripe_charges.csv", None), ("exports/role_history.csv", "roles")]
    assert loaded.config == tmp_path / "sources.yaml"
    result = run("import", "--project", str(project), "--out", str(tmp_path / "log.parquet"))
    assert "stripe_refunds.csv (stripe): read" in result.output
    assert "role_history.csv: roles set on" in result.output


def test_sources_config_texts_are_taken_as_written(tmp_path: Path) -> None:
    """YAML reads `value: true` as True and `value: 0012` as 10: str() of them ("True",
    "10") matched no ticket's field value, so the activity was never found, silently. A
    text setting is the scalar as written; a list there is an error naming the key."""
    config = tmp_path / "sources.yaml"
    config.write_text("ticketing:\n  zendesk:\n    channel: ecommerce\n    activities:\n"
                      "      - {field: 360001, value: true, activity: Approve refund}\n"
                      "      - {field: status, value: 0012, activity: Close ticket}\n"
                      "    order_field: 360002\n", encoding="utf-8")
    zendesk = load_sources_config(config).ticketing["zendesk"]
    assert [(r.field, r.value, r.activity) for r in zendesk.activities] == [
        ("360001", "true", "Approve refund"), ("status", "0012", "Close ticket")]
    assert zendesk.order_field == "360002"
    # A mapping's keys too: a custom field id 0012 is "0012", not YAML's 10.
    config.write_text("ticketing:\n  zendesk:\n    channel: ecommerce\n"
                      "    evidence_fields: {0012: evidence:receipt, true: evidence:photo}\n"
                      "payments:\n  adyen:\n    channel: offline\n"
                      "    charge_activity: Sale\n    methods: {0: cash}\n",
                      encoding="utf-8")
    loaded = load_sources_config(config)
    assert loaded.ticketing["zendesk"].evidence_fields == {
        "0012": "evidence:receipt", "true": "evidence:photo"}
    assert loaded.payments["adyen"].methods == {"0": "cash"}
    config.write_text("ticketing:\n  zendesk:\n    channel: ecommerce\n    activities:\n"
                      "      - {field: status, value: [a], activity: Close ticket}\n",
                      encoding="utf-8")
    with pytest.raises(InputError, match="must be text") as caught:
        load_sources_config(config)
    assert (caught.value.row, caught.value.field) == (5, "ticketing.zendesk.activities[0].value")


@pytest.mark.parametrize(("text", "field"), [
    ("sources: [a.csv]\nroles: [role_history.csv]\n", "roles"),
    ("sources: [a.csv]\nconfig: 7\n", "config"),
    ("sources:\n  - zendesk: null\n", "sources[0].zendesk"),
], ids=["roles-list", "config-number", "source-null"])
def test_a_project_file_name_that_is_no_text_is_refused(tmp_path: Path, text: str,
                                                        field: str) -> None:
    """Before: the text of the value was taken as the file name ("['role_history.csv']:
    cannot read file", "None: no such file"), with no word of the project file or key."""
    project = tmp_path / "audit.yaml"
    project.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="must be a file name") as caught:
        load_project(project)
    assert (caught.value.file, caught.value.field) == (str(project), field)


def test_bad_sources_are_one_line_errors(tmp_path: Path) -> None:
    result = run("import", "--source", f"stripe:{DATA / 'paypal' / 'activity.csv'}", "--out",
                 str(tmp_path / "o.parquet"), code=2)
    assert "not a Stripe charges export" in result.output
    result = run("import", "--source", f"shopify:{DATA / 'paypal' / 'activity.csv'}", "--out",
                 str(tmp_path / "o.parquet"), code=2)
    assert "unknown source system 'shopify'" in result.output
    result = run("import", "--out", str(tmp_path / "o.parquet"), code=2)
    assert "no input" in result.output
    assert parse_source("C:/x/y.csv") == (Path("C:/x/y.csv"), None)


def test_a_role_history_alone_is_an_error_naming_it(tmp_path: Path) -> None:
    """Importing a role history alone said "no event source given (only a role history)",
    naming no file (the one given may have been meant as an event log, detected as roles
    by its columns). Now the error names it (and, of several, each)."""
    history = DATA / "roles" / "role_history.csv"
    result = run("import", str(history), "--out", str(tmp_path / "o.parquet"), code=2)
    line = result.output.strip()
    assert line.startswith(f"error: {history}: no event source given: the only input is a "
                           "role history (columns person, role, valid_from, valid_to)")
    assert len(line.splitlines()) == 1
    other = tmp_path / "march" / "roles.csv"
    other.parent.mkdir()
    other.write_bytes(history.read_bytes())
    result = run("import", "--source", f"roles:{history}", "--source", f"roles:{other}",
                 "--out", str(tmp_path / "o.parquet"), code=2)
    assert f"error: {history}: no event source given: the only inputs are role histories " \
        "(role_history.csv, roles.csv; columns" in result.output


def test_sources_config_errors_name_the_line(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("ticketing:\n  zendesk:\n    channel: ecommerce\n    colour: red\n",
                      encoding="utf-8")
    with pytest.raises(InputError, match=r": line 4: .*unknown key 'colour'"):
        load_sources_config(config)
    config.write_text("payments:\n  stripe:\n    channel: retail\n", encoding="utf-8")
    with pytest.raises(InputError, match="channel must be one of"):
        load_sources_config(config)
    assert set(load_sources_config().ticketing) == {"zendesk", "jira", "servicenow"}


def test_an_edited_mapping_changes_the_activities(tmp_path: Path) -> None:
    text = (REPO / "models" / "sources.default.yaml").read_text(encoding="utf-8")
    config = tmp_path / "sources.yaml"
    config.write_text(text.replace("activity: Approve refund}", "activity: Freigabe}"),
                      encoding="utf-8")
    out = tmp_path / "log.parquet"
    run("import", "--source", f"zendesk:{DATA / 'zendesk' / 'ticket_audits.json'}",
        "--sources-config", str(config), "--out", str(out))
    assert "Freigabe" in set(pd.read_parquet(out)[C.ACTIVITY])


def test_parallel_reading_gives_the_same_import() -> None:
    """Files read in worker processes come back in the order given: the same log, quarantine,
    counts and notes as reading them one after another."""
    from audit.ingest import import_sources

    sources: list[tuple[Path, str | None]] = [(p, None) for p in sorted(EXPORTS.iterdir())]
    sources.append((DATA / "stripe" / "refunds.csv", "stripe"))  # has quarantined rows
    alone = import_sources(sources, workers=1)
    parallel = import_sources(sources, workers=2)
    pd.testing.assert_frame_equal(alone.log, parallel.log)
    pd.testing.assert_frame_equal(alone.quarantine, parallel.quarantine)
    assert alone.files == parallel.files and alone.notes == parallel.notes
    assert len(alone.quarantine) and len(alone.files) == len(sources) - 1  # roles: no events


@pytest.mark.parametrize("workers", [1, 2])
def test_the_read_files_are_freed_as_they_are_joined(monkeypatch: pytest.MonkeyPatch,
                                                     workers: int) -> None:
    """The files' frames are given up to the join (each column freed once joined): nothing
    else holds them, neither the loop nor the worker processes' futures (which once kept
    all 70 of a 1M import alive through it, 400 MB over the memory target)."""
    import gc
    import weakref

    import audit.canonical as canonical
    from audit.ingest import import_sources

    real = canonical.concat_coded
    alive: list[int] = []

    def watched(frames: list[pd.DataFrame], *, release: bool = False) -> pd.DataFrame:
        refs = [weakref.ref(frame) for frame in frames]
        joined = real(frames, release=release)
        gc.collect()
        alive.append(sum(ref() is not None for ref in refs))
        return joined

    monkeypatch.setattr(canonical, "concat_coded", watched)
    sources: list[tuple[Path, str | None]] = [(p, None) for p in sorted(EXPORTS.iterdir())]
    import_sources(sources, workers=workers, sort=False)
    assert alive == [0]


def test_input_error_raised_in_a_worker_keeps_its_file(tmp_path: Path) -> None:
    from audit.ingest import import_sources

    bad = tmp_path / "log.csv"
    bad.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "c1,Receive refund request,2026-01-01T10:00:00+00:00\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        import_sources([(bad, None), (empty, None)], workers=2)
    assert raised.value.file is not None and raised.value.file.endswith("empty.csv")
    assert str(raised.value).startswith(str(empty))


@pytest.mark.parametrize(("text", "field"), [
    ("ticketing: [1]\n", "ticketing"),
    ("ticketing:\n  zendesk: 5\n", "ticketing.zendesk"),
    ("ticketing:\n  zendesk:\n    channel: ecommerce\n    activities: 3\n",
     "ticketing.zendesk.activities"),
    ("ticketing:\n  jira:\n    channel: subscription\n    amount_fields: -1\n",
     "ticketing.jira.amount_fields"),
    ("ticketing:\n  jira:\n    channel: subscription\n    evidence_fields: [a]\n",
     "ticketing.jira.evidence_fields"),
    ("ticketing:\n  servicenow:\n    channel: offline\n    time_zone: '[a-'\n",
     "ticketing.servicenow.time_zone"),
    ("payments:\n  adyen:\n    channel: offline\n    charge_activity: Sale\n"
     "    methods: [1]\n", "payments.adyen.methods"),
    ("correlation: 7\n", "correlation"),
    # Before: a typo of ticket_to_charge was ignored, and the default order used.
    ("correlation:\n  tickets_to_charge: none\n", "correlation.tickets_to_charge"),
], ids=["section-list", "system-number", "activities-number", "list-number",
        "evidence-list", "zone", "methods-list", "correlation-number", "correlation-typo"])
def test_sources_config_values_of_the_wrong_kind(tmp_path: Path, text: str,
                                                 field: str) -> None:
    """Found by mutating the bundled sources file: each was a TypeError, AttributeError or
    ZoneInfoNotFoundError (a traceback); now an InputError naming the key."""
    config = tmp_path / "sources.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_sources_config(config)
    assert caught.value.field == field, caught.value


ADYEN_HEADER = (DATA / "adyen" / "settlement_details.csv").read_text(
    encoding="utf-8").splitlines()[0]
NOT_IN_A_CASE = ("not a settled payment or refund (fees, payouts and chargebacks are not "
                 "part of a refund case)")


def _fees_only(tmp_path: Path) -> Path:
    """An Adyen settlement report of a payout to the merchant and a fee: no record of it is
    part of a refund case (each goes to the quarantine)."""
    path = tmp_path / "adyen_fees.csv"
    path.write_text(
        ADYEN_HEADER + "\n"
        "ExampleRetailGroup,StoresUK,,,,2026-07-10 10:00:00,BST,MerchantPayout,,GBP,5000.00,"
        ",1,GBP,5000.00,,,,\n"
        "ExampleRetailGroup,StoresUK,8815850000000091,,,2026-07-11 10:00:00,BST,Fee,,GBP,"
        "1.00,,1,GBP,1.00,,,,\n", encoding="utf-8")
    return path


def _unknown_currency_refunds(tmp_path: Path) -> Path:
    """A Stripe refunds export whose one record has an unknown currency (quarantined when
    normalised, not by the reader)."""
    path = tmp_path / "stripe_refunds.csv"
    lines = (DATA / "stripe" / "refunds.csv").read_text(encoding="utf-8").splitlines()
    path.write_text(lines[0] + "\n" + lines[1].replace(",eur,", ",xxx,") + "\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize(("make", "good", "reason"), [
    (_fees_only, DATA / "adyen" / "settlement_details.csv",
     "2 for Type (" + NOT_IN_A_CASE + ")"),
    (_unknown_currency_refunds, DATA / "stripe" / "refunds.csv",
     "1 for currency (unknown currency (not an ISO 4217 code))")])
def test_an_export_none_of_whose_records_is_imported_goes_to_the_quarantine(
        tmp_path: Path, make: object, good: Path, reason: str) -> None:
    """An export none of whose records can be imported, beside one that gives records: its
    records go to the quarantine with their reasons, counted, the run goes on and its notes
    name the file. Before, the whole run ended (exit 2) pointing at "the quarantine
    reasons", and no quarantine was written. Alone, it is an error that states the reasons
    itself, counted."""
    assert callable(make)
    export = make(tmp_path)
    out = tmp_path / "out" / "log.parquet"
    result = run("import", str(good), str(export), "--out", str(out))
    assert f"{export.name} (" in result.output
    assert f"{export.name} ({'adyen' if 'adyen' in export.name else 'stripe'}): read " \
           f"{2 if 'adyen' in export.name else 1} = imported 0 + quarantined " \
           f"{2 if 'adyen' in export.name else 1}" in result.output
    assert f"{export.name}: no record could be imported, every one of its" in result.output
    quarantine = pd.read_csv(out.parent / "log.quarantine.csv")
    mine = quarantine[quarantine["file"] == export.name]
    assert len(mine) == (2 if "adyen" in export.name else 1)
    assert len(pd.read_parquet(out)) > 0
    alone = tmp_path / "alone" / "log.parquet"
    failed = run("import", str(export), "--out", str(alone), code=2)
    assert "Traceback" not in failed.output
    assert f"{export.name}: row 2: no record could be imported from any input: every one " \
           "of its" in failed.output and reason in failed.output
    assert "see the quarantine" not in failed.output
    assert not (alone.parent / "log.quarantine.csv").exists()


def test_a_generic_log_with_an_exports_columns_is_read_as_a_generic_log(
        tmp_path: Path) -> None:
    """A generic event log whose header happened to hold Stripe's columns (id, amount,
    currency, created, status) was read as a Stripe export: its --mapping ignored, every
    row "left out as sales", 0 cases, exit 0. So was one with a role history's columns
    (person, role, valid_from), as a role history. Now a CSV holding the columns a mapping
    names, or a case, an activity and a timestamp column, is a generic log; a Stripe header
    is Stripe's only where its first ids begin as Stripe's do; and the summary names every
    CSV taken for an export by its columns, with how to read it as a generic log."""
    from audit.sources import detect_system

    stripe_like = tmp_path / "events.csv"
    stripe_like.write_text(
        "id,ref,step,at,amount,currency,created,status\n"
        "e1,c1,Request refund,2026-01-01T10:00:00Z,10,EUR,1767261600,succeeded\n"
        "e2,c1,Approve refund,2026-01-01T11:00:00Z,10,EUR,1767265200,succeeded\n",
        encoding="utf-8")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  case:concept:name: ref\n  concept:name: step\n"
                       "  time:timestamp: at\n", encoding="utf-8")
    result = run("import", str(stripe_like), "--mapping", str(mapping),
                 "--out", str(tmp_path / "a" / "log.parquet"))
    assert "events.csv (csv): read 2 = imported 2 + quarantined 0" in result.output
    assert "; 1 case\n" in result.output and "sales" not in result.output
    assert pd.read_parquet(tmp_path / "a" / "log.parquet")[C.ACTIVITY].tolist() == [
        "Request refund", "Approve refund"]

    # Common names of case, activity and timestamp, no mapping: a generic log too.
    named = tmp_path / "named.csv"
    named.write_text(stripe_like.read_text(encoding="utf-8").replace(
        "id,ref,step,at", "id,case_id,activity,timestamp"), encoding="utf-8")
    roles_like = tmp_path / "people.csv"
    roles_like.write_text("person,role,valid_from,case,activity,time\n"
                          "ann,agent,2026-01-01T00:00:00Z,c1,Open,2026-01-02T00:00:00Z\n",
                          encoding="utf-8")
    assert detect_system(named) is None and detect_system(roles_like) is None
    # Stripe's columns, ids that are not Stripe's, no event log columns: not Stripe's.
    not_ids = tmp_path / "charges.csv"
    not_ids.write_text("id,amount,currency,created,status\n"
                       "e1,5000,eur,2026-05-24 22:41:03,succeeded\n", encoding="utf-8")
    assert detect_system(not_ids) is None
    # A Stripe export is still detected, and the summary says so and how to force a
    # generic reading.
    result = run("import", str(EXPORTS / "stripe_refunds.csv"), "--mapping", str(mapping),
                 "--out", str(tmp_path / "b" / "log.parquet"))
    assert ("read by their columns as: stripe_refunds.csv stripe (id, amount, currency, "
            "created, status) (--mapping is for generic logs: not applied to these); to "
            "read one as a generic event log instead: --format csv or --source csv:FILE"
            ) in " ".join(result.output.split())


def test_a_mapping_of_a_few_columns_leaves_the_exports_beside_it_exports(
        tmp_path: Path) -> None:
    """A mapping naming only `org:resource: login` made every CSV holding a `login` column a
    generic log: the role history imported beside the generic log was refused as a log
    without a case column. A header is generic only where a case, an activity and a
    timestamp column are found (by the mapping's names or the common ones)."""
    log = tmp_path / "generic.csv"
    log.write_text("case,activity,timestamp,login\n"
                   "C1,Create,2026-07-01T10:00:00Z,amira.haddad\n"
                   "C1,Approve,2026-07-01T11:00:00Z,nadia.rossi\n", encoding="utf-8")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  org:resource: login\n", encoding="utf-8")
    result = run("import", str(log), str(DATA / "roles" / "role_history.csv"), "--mapping",
                 str(mapping), "--out", str(tmp_path / "o" / "log.parquet"))
    assert result.exit_code == 0, result.output
    assert "role_history.csv: roles set on 2 events" in result.output
    imported = pd.read_parquet(tmp_path / "o" / "log.parquet")
    assert imported[C.RESOURCE].tolist() == ["Amira Haddad", "Nadia Rossi"]


def _servicenow_pages(folder: Path) -> list[Path]:
    """The bundled ServiceNow export in two pages by time, as an export by date range (month
    by month) comes: a record's `number` row, written at insert, in the first page and some
    of its later updates in the second."""
    import csv

    with (EXPORTS / "servicenow_sys_audit.csv").open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    at = header.index("sys_created_on")
    rows.sort(key=lambda row: row[at])
    half = len(rows) // 2  # (moved to where the time changes: an update's rows in one page)
    while rows[half][at] == rows[half - 1][at]:
        half += 1
    pages = []
    for k, page in enumerate((rows[:half], rows[half:]), start=1):
        path = folder / f"servicenow_page{k}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, *page])
        pages.append(path)
    return pages


def test_a_servicenow_export_in_pages_imports_as_the_whole(tmp_path: Path) -> None:
    """Updates in one page of a record whose `number` row is in another are read with that
    number (before: quarantined, "no 'number' row for this record in the export", and their
    approvals lost, so the check reported missing approvals that the export in one file does
    not have)."""
    pages = _servicenow_pages(tmp_path)
    others = [p for p in sorted(EXPORTS.iterdir()) if p.name != "servicenow_sys_audit.csv"]
    whole, paged = tmp_path / "whole.parquet", tmp_path / "paged.parquet"
    run("import", *map(str, sorted(EXPORTS.iterdir())), "--out", str(whole))
    run("import", *map(str, others), *map(str, pages), "--out", str(paged))
    assert pd.read_csv(tmp_path / "paged.quarantine.csv").empty
    # (Where each event was read, and what each page's records stated themselves: a ticket's
    # order is stated by the update at insert, in the first page.)
    provenance = [C.SOURCE_FILE, C.SOURCE_ROW, *C.STATED.values()]

    def events(path: Path) -> pd.DataFrame:
        log = pd.read_parquet(path)
        log = log.drop(columns=[c for c in provenance if c in log.columns])
        log = log.astype({c: "string" for c in log.columns if c not in (C.TIMESTAMP, C.AMOUNT)})
        return log[sorted(log.columns)].sort_values(C.EVENT_ID, ignore_index=True)

    pd.testing.assert_frame_equal(events(whole), events(paged))


@pytest.mark.parametrize("workers", [1, 2])
def test_servicenow_pages_read_in_workers_get_each_others_numbers(tmp_path: Path,
                                                                  workers: int) -> None:
    from audit.ingest import import_sources

    pages = _servicenow_pages(tmp_path)
    result = import_sources([(p, "servicenow") for p in pages], workers=workers)
    alone = import_sources([(EXPORTS / "servicenow_sys_audit.csv", "servicenow")], workers=1)
    assert result.quarantine.empty
    assert sorted(result.log[C.EVENT_ID].astype(str)) == sorted(alone.log[C.EVENT_ID].astype(str))
    assert (result.log.set_index(C.EVENT_ID)[C.CASE].astype(str).sort_index()
            .equals(alone.log.set_index(C.EVENT_ID)[C.CASE].astype(str).sort_index()))


def test_the_role_notes_count_the_events_kept_not_the_repeats(tmp_path: Path) -> None:
    """A Jira export holding every issue twice (overlapping search pages) imports the same
    events as the export once, and the role history's note counts those events (before: the
    repeats too, dropped only after the roles were set: "roles set on" nearly twice the
    events imported)."""
    import json

    jira = json.loads((EXPORTS / "jira_issues.json").read_text(encoding="utf-8"))
    jira["issues"] = jira["issues"] + jira["issues"]
    jira["total"] = jira["maxResults"] = len(jira["issues"])
    twice = tmp_path / "twice" / "jira_issues.json"
    twice.parent.mkdir()
    twice.write_text(json.dumps(jira), encoding="utf-8")
    roles = str(EXPORTS / "role_history.csv")
    once = run("import", str(EXPORTS / "jira_issues.json"), roles,
               "--out", str(tmp_path / "once.parquet")).output
    again = run("import", str(twice), roles, "--out", str(tmp_path / "twice.parquet")).output
    note = [line for line in once.splitlines() if "roles set on" in line]
    assert len(note) == 1
    assert note == [line for line in again.splitlines() if "roles set on" in line]
    assert "duplicates dropped" in again
    assert len(pd.read_parquet(tmp_path / "once.parquet")) == \
        len(pd.read_parquet(tmp_path / "twice.parquet"))


def test_a_servicenow_export_beside_last_months_log_gets_the_logs_numbers(
        tmp_path: Path) -> None:
    """The monthly run: last month's log (imported from the first page) checked beside this
    month's ServiceNow export, whose updates of records inserted last month have no `number`
    row in it. They take the number the log's events of the record carry (before:
    quarantined, and their approvals lost)."""
    first, second = _servicenow_pages(tmp_path)
    others = [p for p in sorted(EXPORTS.iterdir()) if p.name != "servicenow_sys_audit.csv"]
    last_month = tmp_path / "last" / "log.parquet"
    run("import", *map(str, others), str(first), "--out", str(last_month))
    both = tmp_path / "both.parquet"
    run("import", str(last_month), str(second), str(EXPORTS / "role_history.csv"),
        "--out", str(both))
    assert pd.read_csv(tmp_path / "both.quarantine.csv").empty
    whole = tmp_path / "whole.parquet"
    run("import", *map(str, sorted(EXPORTS.iterdir())), "--out", str(whole))

    def servicenow_cases(path: Path) -> pd.Series:
        log = pd.read_parquet(path, columns=[C.EVENT_ID, C.CASE]).astype("string")
        log = log[log[C.EVENT_ID].str.startswith("servicenow:")]
        return log.set_index(C.EVENT_ID)[C.CASE].sort_index()

    pd.testing.assert_series_equal(servicenow_cases(whole), servicenow_cases(both))


def _servicenow_rows_pages(folder: Path, *cuts: int) -> list[Path]:
    """The bundled ServiceNow export paged by row count, as a download limited to so many
    rows a file pages it: each page ends after `cuts[k]` rows (the header repeated in each),
    wherever that falls, the middle of an update included."""
    from itertools import pairwise

    lines = (EXPORTS / "servicenow_sys_audit.csv").read_text(encoding="utf-8").splitlines(
        keepends=True)
    header, body = lines[0], lines[1:]
    bounds = [0, *cuts, len(body)]
    pages = []
    for k, (start, stop) in enumerate(pairwise(bounds), start=1):
        path = folder / f"servicenow_rows{k}.csv"
        path.write_text(header + "".join(body[start:stop]), encoding="utf-8")
        pages.append(path)
    return pages


def _servicenow_events(paths: list[Path]) -> tuple[pd.DataFrame, object]:
    from audit.sources.pipeline import import_and_correlate

    result = import_and_correlate([(p, "servicenow") for p in paths])
    log = result.log
    log = log[[c for c in log.columns if not c.startswith(("source:", "stated:"))]]
    log = log.astype("string").fillna("")
    return log.sort_values(C.EVENT_ID, ignore_index=True), result


@pytest.mark.parametrize("cuts", [
    (7,),  # the update of `Collect evidence`: its stage row on page 1, receipt and photo on 2
    (261,),  # a record's insert: its `number` row on page 1, the rest (its order, amount) on 2
    (121, 583),  # an approval's amount on the next page; three pages
])
def test_a_servicenow_export_paged_by_row_count_imports_as_the_whole(
        tmp_path: Path, cuts: tuple[int, ...]) -> None:
    """An update (a record's checkpoint: several field rows) cut by a page's end is read as
    one event with the rows of both pages (before: the half without the stage change was an
    update of no activity, skipped with only a count, its evidence or amount lost without a
    word; a cut insert lost the record's ticket number and with it the whole case)."""
    whole, _ = _servicenow_events([EXPORTS / "servicenow_sys_audit.csv"])
    paged, result = _servicenow_events(_servicenow_rows_pages(tmp_path, *cuts))
    assert result.quarantine.empty  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(whole, paged)
    notes = result.notes  # type: ignore[attr-defined]
    assert any("update(s) cut between this export and servicenow_rows2.csv" in n
               for n in notes), notes
    assert any(n.startswith("servicenow_rows2.csv: ") and "read with them there" in n
               for n in notes), notes


def test_pages_by_row_count_in_workers_are_joined_too(tmp_path: Path) -> None:
    from audit.ingest import import_sources

    pages = _servicenow_rows_pages(tmp_path, 7)
    result = import_sources([(p, "servicenow") for p in pages], workers=2)
    log = result.log.set_index(C.EVENT_ID)
    collected = log.loc["servicenow:da9020879a415697c52ded6d0b58d18f:1"]
    assert collected["evidence:receipt"] == "receipt-CS0000283.jpg"
    assert collected["evidence:photo"] == "photo-CS0000283.jpg"


def test_servicenow_pages_are_read_again_only_where_they_share_an_update(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each export's distinct updates come from its reading: pages that share none (cut
    between two updates, or exports of other records: the 1M bench's ten parts) are not
    read again for a join (a first pass reading every ServiceNow export for its
    updates cost the 1M audit 2.5 s and 0.2 GB at the import's peak); pages that share one
    are read again with the join."""
    import csv

    from audit import ingest
    from audit.sources import servicenow

    reads: list[str] = []  # the readings again with the joined updates
    readings: list[str] = []  # every reading of an export
    csv_reads: list[str] = []  # every time an export's CSV is parsed
    real, real_csv = ingest._read_one, servicenow.read_csv

    def counting(source: tuple[Path, str], **kwargs: object) -> object:
        readings.append(source[0].name)
        if kwargs.get("joins"):
            reads.append(source[0].name)
        return real(source, **kwargs)  # type: ignore[arg-type]

    def parsing(path: Path, **kwargs: object) -> object:
        csv_reads.append(path.name)
        return real_csv(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "_read_one", counting)
    monkeypatch.setattr(servicenow, "read_csv", parsing)
    with (EXPORTS / "servicenow_sys_audit.csv").open(encoding="utf-8", newline="") as f:
        body = list(csv.DictReader(f))
    between = next(k for k in range(1, len(body))
                   if (body[k]["documentkey"], body[k]["record_checkpoint"])
                   != (body[k - 1]["documentkey"], body[k - 1]["record_checkpoint"]))
    whole, _ = _servicenow_events([EXPORTS / "servicenow_sys_audit.csv"])
    for kept in (reads, readings, csv_reads):
        kept.clear()
    (tmp_path / "between").mkdir()
    paged, _ = _servicenow_events(_servicenow_rows_pages(tmp_path / "between", between))
    pd.testing.assert_frame_equal(whole, paged)
    assert reads == []
    assert sorted(csv_reads) == sorted(readings)  # (no pass of its own over the exports)
    reads.clear()
    (tmp_path / "cut").mkdir()
    paged, _ = _servicenow_events(_servicenow_rows_pages(tmp_path / "cut", 7))
    pd.testing.assert_frame_equal(whole, paged)
    # (both read again with the join: page 2, whose records' numbers are on page 1, once
    # more for them, with the join too)
    assert sorted(set(reads)) == ["servicenow_rows1.csv", "servicenow_rows2.csv"]


def test_a_cut_update_whose_rows_disagree_is_quarantined_not_joined(tmp_path: Path) -> None:
    """A row on the next page of a record's checkpoint whose time differs from the rows of
    that checkpoint on the page before is no row of the same update that can be told
    safely: quarantined, naming file, row and field, not joined and not dropped."""
    first, second = _servicenow_rows_pages(tmp_path, 7)
    lines = second.read_text(encoding="utf-8").splitlines(keepends=True)
    assert ",u_receipt,,receipt-CS0000283.jpg,felix.weber,2026-07-02 11:17:04,1," in lines[1]
    lines[1] = lines[1].replace("2026-07-02 11:17:04", "2026-07-02 11:19:00")
    second.write_text("".join(lines), encoding="utf-8")
    log, result = _servicenow_events([first, second])
    quarantine = result.quarantine  # type: ignore[attr-defined]
    assert quarantine[["file", "row", "field", "value"]].values.tolist() == [
        ["servicenow_rows2.csv", 2, "sys_created_on", "2026-07-02 11:19:00"]]
    assert "servicenow_rows1.csv (from row 8) state sys_created_on 2026-07-02 11:17:04" in \
        quarantine["reason"].iloc[0]
    collected = log[log[C.EVENT_ID] == "servicenow:da9020879a415697c52ded6d0b58d18f:1"]
    assert collected["evidence:receipt"].tolist() == [""]  # (its row quarantined)
    assert collected["evidence:photo"].tolist() == ["photo-CS0000283.jpg"]


@pytest.mark.parametrize(("times", "off", "at"), [
    # the receipt a second later: read at the stage's 11:17:04 (10:17:04 UTC)
    (("2026-07-02 11:17:05", "2026-07-02 11:17:04"), [], "04"),
    # 11:17:03-08, five seconds: read at the receipt's 11:17:03, the earliest, on page 2
    (("2026-07-02 11:17:03", "2026-07-02 11:17:08"), [], "03"),
    # the photo 6 s from the stage: not joined
    (("2026-07-02 11:17:07", "2026-07-02 11:17:10"), [3], "04"),
], ids=["one-second", "five-seconds-spread", "beyond-the-span"])
def test_a_cut_update_whose_rows_are_seconds_apart_is_joined(
        tmp_path: Path, times: tuple[str, str], off: list[int], at: str) -> None:
    """An update cut at a page's end whose rows on the next page state a time up to 5
    seconds from its rows on the page before (a large update crossing a second boundary)
    is joined, as its rows are within one export; the rows joined stay within 5 seconds of
    each other, a row further off quarantined as before. Before, the page's rows had to
    state the first page's time to the second: a receipt one second later was "not one
    update, not joined" (quarantined, the evidence lost)."""
    first, second = _servicenow_rows_pages(tmp_path, 7)
    lines = second.read_text(encoding="utf-8").splitlines(keepends=True)
    assert ",u_receipt,,receipt-CS0000283.jpg,felix.weber,2026-07-02 11:17:04,1," in lines[1]
    assert ",u_photo,,photo-CS0000283.jpg,felix.weber,2026-07-02 11:17:04,1," in lines[2]
    for k, text in enumerate(times, start=1):
        lines[k] = lines[k].replace("2026-07-02 11:17:04", text)
    second.write_text("".join(lines), encoding="utf-8")
    log, result = _servicenow_events([first, second])
    quarantine = result.quarantine  # type: ignore[attr-defined]
    assert quarantine[["file", "row", "field"]].values.tolist() == [
        ["servicenow_rows2.csv", row, "sys_created_on"] for row in off]
    if off:
        assert "(this row's more than 5 seconds from them): not one update, not joined" in \
            quarantine["reason"].iloc[0]
    collected = log[log[C.EVENT_ID] == "servicenow:da9020879a415697c52ded6d0b58d18f:1"]
    assert collected["evidence:receipt"].tolist() == ["receipt-CS0000283.jpg"]
    assert collected["evidence:photo"].tolist() == ["" if off else "photo-CS0000283.jpg"]
    # (read at the earliest time of its rows joined, on either page, as in one file; before,
    # at the stage row's on the first page, a receipt a second earlier ignored)
    assert collected[C.TIMESTAMP].tolist() == [f"2026-07-02 10:17:{at}+00:00"]


def test_the_quarantine_names_the_case_of_each_row_where_it_can_be_told(
        tmp_path: Path) -> None:
    """The quarantine's last column, `case`: a generic log's case id, a ticket update's
    ticket, the ticket a payment row names (empty where none is told), so that an auditor
    sees which case a finding rests on lost rows (before: file, row, field, value, reason
    only; a case with findings could have had rows quarantined unseen)."""
    generic = tmp_path / "generic.csv"
    generic.write_text("case,activity,timestamp,amount\n"
                       "c1,Receive refund request,2026-07-01T10:00:00Z,10.00\n"
                       "c2,Receive refund request,2026-07-01T10:00:00Z,\"1,5\"\n"
                       "c3,Receive refund request,not a time,10.00\n"
                       "c4,Receive refund request,2026-07-01T10:00:00Z,1.234,5\n",
                       encoding="utf-8")
    refunds = tmp_path / "stripe_refunds.csv"
    lines = (EXPORTS / "stripe_refunds.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",eur,", ",xxx,")  # names ticket 40219
    refunds.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    sn = tmp_path / "sys_audit.csv"
    sn.write_text("\n".join([
        "sys_id,tablename,documentkey,fieldname,oldvalue,newvalue,user,sys_created_on,"
        "record_checkpoint",
        "a1,case,doc1,number,,CS1,felix.weber,2026-03-29 00:30:00,0",
        "a2,case,doc1,u_refund_stage,,requested,felix.weber,2026-03-29 00:30:00,0",
        "a3,case,doc1,u_refund_stage,requested,approved,felix.weber,2026-03-29 01:30:00,1"])
        + "\n", encoding="utf-8")
    out = tmp_path / "log.parquet"
    run("import", str(generic), "--out", str(out))
    written = (tmp_path / "log.quarantine.csv").read_text(encoding="utf-8").splitlines()
    assert written[0] == "file,row,field,value,reason,case,record_read"
    quarantine = pd.read_csv(tmp_path / "log.quarantine.csv", dtype=str, keep_default_na=False)
    assert quarantine[["row", "field", "case"]].values.tolist() == [
        ["3", "amount", "c2"], ["4", "timestamp", "c3"],
        ["5", "(record)", ""]]  # (a record of the wrong shape: which cell is its case?)
    run("import", str(refunds), str(sn), "--out", str(out))
    quarantine = pd.read_csv(tmp_path / "log.quarantine.csv", dtype=str, keep_default_na=False)
    assert quarantine[["file", "row", "field", "case"]].values.tolist() == [
        ["stripe_refunds.csv", "2", "currency", "40219"],
        ["sys_audit.csv", "4", "sys_created_on", "CS1"]]
    # The correlation problems' file keeps its columns (its events are in the log).
    assert (tmp_path / "log.correlation.csv").read_text(encoding="utf-8").startswith(
        "file,row,field,value,reason\n")


def test_the_check_counts_the_quarantined_rows_of_cases_with_findings(tmp_path: Path) -> None:
    """A Stripe refund of ticket 40219 quarantined (an unknown currency): the case has
    findings (its payout is missing), and the summary says that one quarantined row belongs
    to a case with findings, in findings.json and on the console."""
    import json

    exports = tmp_path / "exports"
    exports.mkdir()
    for path in EXPORTS.iterdir():
        (exports / path.name).write_bytes(path.read_bytes())
    refunds = exports / "stripe_refunds.csv"
    lines = refunds.read_text(encoding="utf-8").splitlines(keepends=True)
    assert ",eur," in lines[1] and ",40219," in lines[1]
    lines[1] = lines[1].replace(",eur,", ",xxx,")
    refunds.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    result = run("check", *map(str, sorted(exports.iterdir())), "--out", str(out),
                 "--format", "json,html,xlsx", code=1)  # (findings)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert any(f["case_id"] == "40219" for f in document["findings"])
    assert document["summary"]["quarantined"] == 1
    assert document["summary"]["quarantined_in_cases_with_findings"] == 1
    assert "quarantined 1 (1 of them in cases with findings)" in result.output
    quarantine = pd.read_csv(out / "quarantine.csv", dtype=str)
    assert quarantine["case"].tolist() == ["40219"]
    # The report and the workbook say it too (they said only how many were quarantined).
    import html

    page = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    assert re.search(r'<span data-metric="quarantined_in_cases_with_findings" '
                     r'data-value="1">1</span> of them in cases with findings, whose '
                     r"findings may rest on incomplete records", page)
    from openpyxl import load_workbook

    rows = {r[0]: r[1] for r in load_workbook(out / "findings.xlsx", read_only=True)[
        "Summary"].iter_rows(values_only=True) if len(r) > 1 and r[0]}
    assert rows["Quarantined rows in cases with findings"] == 1


def test_a_missing_servicenow_page_is_told_as_before_the_pages_are_joined(
        tmp_path: Path) -> None:
    """The look for updates cut between pages reads the ServiceNow exports first; a page
    that is missing is told by its reading as always ("no such file"), not by that look."""
    first, _second = _servicenow_rows_pages(tmp_path, 7)
    result = run("import", "--source", f"servicenow:{tmp_path / 'gone.csv'}",
                 "--source", f"servicenow:{first}", "--out", str(tmp_path / "log.parquet"),
                 code=2)
    assert result.output.strip().endswith("gone.csv: no such file"), result.output


def test_a_quarantined_charge_names_the_case_its_refund_is_in(tmp_path: Path) -> None:
    """A Stripe charge row names no ticket: quarantined (an unknown currency), its line named
    no case, so its refund case's no-prior-purchase finding, which rests on that line, was
    counted among the cases with findings of no quarantined row. The line now names the case
    correlation puts its charge in (the refund of ticket 40219 refunds ch_4744348135); a
    fee-like row of no case, and a charge no refund refers to, name none."""
    import json

    exports = tmp_path / "exports"
    exports.mkdir()
    for path in EXPORTS.iterdir():
        (exports / path.name).write_bytes(path.read_bytes())
    charges = exports / "stripe_charges.csv"
    lines = charges.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[1].startswith("ch_4744348135,") and ",eur," in lines[1]
    lines[1] = lines[1].replace(",eur,", ",xxx,")
    # A charge of no refund case (a sale), quarantined too: it names no case.
    lines.append("ch_9999999999,Order EC-O0000001,1000,,zzz,2026-05-01 10:00:00,succeeded,"
                 "card,EC-O0000001\n")
    charges.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    run("check", *map(str, sorted(exports.iterdir())), "--out", str(out),
        "--format", "json", code=1)  # (findings)
    quarantine = pd.read_csv(out / "quarantine.csv", dtype=str, keep_default_na=False)
    assert quarantine[["file", "row", "field", "case"]].values.tolist() == [
        ["stripe_charges.csv", "2", "currency", "40219"],
        ["stripe_charges.csv", str(len(lines)), "currency", ""]]
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert any(f["case_id"] == "40219" and f["name"] == "no-prior-purchase"
               for f in document["findings"])
    assert document["summary"]["quarantined"] == 2
    assert document["summary"]["quarantined_in_cases_with_findings"] == 1


def _stripe_and_zendesk(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """The sample's Stripe charges and refunds and Zendesk audits copied into a folder of
    their own: the folder, its charges file and that file's lines (to be edited)."""
    wanted = {"stripe_charges.csv", "stripe_refunds.csv", "zendesk_ticket_audits.json"}
    exports = tmp_path / "exports"
    exports.mkdir()
    for path in EXPORTS.iterdir():
        if path.name in wanted:
            (exports / path.name).write_bytes(path.read_bytes())
    charges = exports / "stripe_charges.csv"
    return exports, charges, charges.read_text(encoding="utf-8").splitlines(keepends=True)


def test_a_quarantined_charge_in_two_cases_names_neither_by_its_order(tmp_path: Path) -> None:
    """A charge refunded under two tickets is in two cases: its quarantined line names none,
    as the pipeline says. Before, the order was asked next and named the one case whose
    refund stated it (here ticket 40219's; the second refund states no order)."""
    from audit.sources.pipeline import import_and_correlate

    exports, charges, lines = _stripe_and_zendesk(tmp_path)
    assert lines[1].startswith("ch_4744348135,") and ",eur," in lines[1]
    lines[1] = lines[1].replace(",eur,", ",xxx,")
    charges.write_text("".join(lines), encoding="utf-8")
    refunds = exports / "stripe_refunds.csv"
    with refunds.open("a", encoding="utf-8") as handle:
        handle.write("re_99999999,ch_4744348135,100,eur,2026-07-03 06:45:20,succeeded,"
                     "requested_by_customer,99999,Victor Chen,paypal,\n")
    result = import_and_correlate([(p, None) for p in sorted(exports.iterdir())])
    log = result.log
    holding = log.loc[log[C.CHARGE_ID].astype("string").eq("ch_4744348135").fillna(False),
                      [C.CASE, C.ORDER_ID]].astype("string")
    assert holding[C.CASE].nunique() == 2  # the charge: in two cases
    assert holding[C.ORDER_ID].dropna().tolist() == ["EC-O6491819"]  # its order: one
    line = result.quarantine[result.quarantine["file"].eq("stripe_charges.csv")]
    assert line[["row", "field", "case"]].values.tolist() == [[2, "currency", ""]]


def test_a_charge_the_import_quarantines_names_the_case_its_refund_is_in(
        tmp_path: Path) -> None:
    """A Stripe charge row the reader passes on but the import's own checks quarantine (an
    amount beyond 10^15 major units, a time beyond the years a timestamp holds) names the
    case correlation puts its charge in, as a row the reader quarantines does (before: no
    case, though its refund case's no-prior-purchase finding rests on that line)."""
    from audit.sources.pipeline import import_and_correlate

    exports, charges, lines = _stripe_and_zendesk(tmp_path)
    assert lines[1].startswith("ch_4744348135,") and ",9525," in lines[1]
    assert lines[5].startswith("ch_2369705770,") and ",2026-" in lines[5]
    lines[1] = lines[1].replace(",9525,", ",999999999999999999999,")
    lines[5] = lines[5].replace(",2026-", ",2300-", 1)
    charges.write_text("".join(lines), encoding="utf-8")
    result = import_and_correlate([(p, None) for p in sorted(exports.iterdir())])
    log = result.log
    for charge, case in (("ch_4744348135", "40219"), ("ch_2369705770", "40101")):
        held = log.loc[log[C.CHARGE_ID].astype("string").eq(charge).fillna(False), C.CASE]
        assert set(held.astype(str)) == {case}
    quarantine = result.quarantine
    assert quarantine[["file", "row", "field", "case"]].values.tolist() == [
        ["stripe_charges.csv", 2, "amount", "40219"],  # (the export's columns)
        ["stripe_charges.csv", 6, "created", "40101"]]
    assert list(quarantine.columns) == ["file", "row", "field", "value", "reason", "case",
                                        "record_read"]


def test_each_files_line_tells_the_events_its_records_became(tmp_path: Path) -> None:
    """A file's line said `read 136 = imported 136 + quarantined 0` where correlation made
    its charges 139 events (a charge refunded in two cases is an event in each), without a
    word: the line says `136 records imported -> 139 events` where they differ, and the
    counts said so are the events of the log written, by their file."""
    out = tmp_path / "log.parquet"
    sources = [f"--source={'roles' if p.name.startswith('role') else p.name.split('_')[0]}:{p}"
               for p in sorted(EXPORTS.iterdir())]
    result = run("import", *sources, "--out", str(out))
    log = pd.read_parquet(out)
    events = log[C.SOURCE_FILE].astype(str).value_counts().to_dict()
    lines = {m.group(1): m for m in re.finditer(
        r"^(\S+) \(\w+\): read (\d+) = imported (\d+) \+ quarantined \d+[^\n]*?"
        r"(?:; (\d+) records imported -> (\d+) events, (\d+) of them a charge's event "
        r"repeated in a further case that refunds it)?$", result.output, re.M)}
    assert sorted(lines) == sorted(p.name for p in EXPORTS.iterdir()
                                   if not p.name.startswith("role"))
    told = {name: int(m.group(5) or m.group(3)) for name, m in lines.items()}
    assert told == events, result.output
    again = {name: int(m.group(6)) for name, m in lines.items() if m.group(6)}
    assert again and set(again) <= {"stripe_charges.csv", "paypal_activity.csv",
                                    "adyen_settlement_details.csv"}, result.output
    for name, m in lines.items():  # (said only where they differ)
        assert (m.group(5) is None) == (int(m.group(3)) == events[name])
    # (the total's counts with thousands separators, as check's first line: since the import's
    # lines have them, "2,196 events in")
    assert f"; {len(log):,} events in" in result.output
    assert sum(told.values()) == len(log)
