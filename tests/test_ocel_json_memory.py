"""An OCEL JSON log is read whole: its JSON decoded and, gzip-compressed, decompressed whole.
Both are bounded against the memory left (`audit.memory.available_memory`), which the gzip
ratio bound does not do: a few MB of gzip of a real log's ratio hold hundreds of MB of JSON
whose objects take gigabytes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from audit.errors import InputError
from audit.ingest import ocel, xes
from audit.ingest.ocel import JSON_CONTAINER_BYTES, read_ocel
from audit.memory import address_space_left, available_memory

MB = 1 << 20


def _dense(path: Path, empties: int) -> Path:
    """An OCEL 2.0 JSON log (gzip) of one event holding `empties` empty objects (`{},`:
    three bytes, about 70 once decoded), with a line break every 40 so that it compresses
    as a real log does, not as a bomb of one byte repeated."""
    head = ('{"objectTypes": [{"name": "T", "attributes": []}], "eventTypes": [{"name": "A", '
            '"attributes": []}], "objects": [{"id": "o1", "type": "T"}], "events": [{"id": '
            '"e1", "type": "A", "time": "2026-01-01T00:00:00Z", "relationships": [{"objectId":'
            ' "o1", "qualifier": ""}], "filler": [')
    line = "{}," * 40 + "\n"
    body = line * (empties // 40)
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write(head + body + "{}]}]}")
    return path


def test_json_whose_objects_need_more_memory_than_is_left_is_refused_before_decoding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """300,000 empty objects (0.9 MB of JSON, a few KB of gzip) need 16.8 MB at the least:
    with 10 MB left, refused naming the file and the count, before they are decoded; with
    20 MB left, read (the file's one event). Before, no bound: a 5.4 MB .jsonocel.gz of
    400 MB of `{},` (74 times compressed, under GZIP_MOST_RATIO) ended in MemoryError, an
    internal error, or took some 10 GB. (Sizes below 1 GiB are said in MiB: before, "needs
    at least 0.0 GiB ... but 0.0 GiB is available".)"""
    path = _dense(tmp_path / "dense.jsonocel.gz", 300_000)
    containers = 300_001 + 6 + 8  # (the filler's, its last one's too; the document's
    # own objects; its arrays)
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    assert text.count("{") + text.count("[") == containers
    assert containers * JSON_CONTAINER_BYTES > 10 * MB
    # (raising=False: before the bound, the module held no such name to replace)
    monkeypatch.setattr(ocel, "available_memory", lambda: 10 * MB, raising=False)
    with pytest.raises(InputError) as caught:
        read_ocel(path, "T")
    assert str(caught.value) == (
        f"{path}: its {len(text):,} characters of JSON hold {containers:,} objects and "
        f"arrays, whose reading needs at least 16 MiB of memory more ({JSON_CONTAINER_BYTES}"
        " bytes each at the least), but 10 MiB is available: refused before they are "
        "decoded (a few MB of gzip can hold hundreds of MB of JSON; see docs/security.md); "
        "import it where more memory is free")
    monkeypatch.setattr(ocel, "available_memory", lambda: 20 * MB)
    table = read_ocel(path, "T")
    assert len(table.frame) == 1


def test_a_real_ocel_json_log_is_read_where_its_memory_is_left(tmp_path: Path) -> None:
    """A log of 2,000 events and their objects needs a few MB at the least: read with this
    machine's memory as it is."""
    document = {
        "objectTypes": [{"name": "T", "attributes": []}],
        "eventTypes": [{"name": "A", "attributes": []}],
        "objects": [{"id": f"o{i}", "type": "T"} for i in range(2000)],
        "events": [{"id": f"e{i}", "type": "A", "time": "2026-01-01T00:00:00Z",
                    "relationships": [{"objectId": f"o{i}", "qualifier": ""}]}
                   for i in range(2000)]}
    path = tmp_path / "log.jsonocel"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert len(read_ocel(path, "T").frame) == 2000


def test_gzip_read_whole_is_refused_once_it_passes_the_memory_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decompressed whole (an OCEL JSON's reading), the bytes read are joined into one copy
    at the end: refused once they are more than the memory left, looked at every
    `_MEMORY_STEP` bytes (here 1 MB, with 2 MB left), before the JSON is decoded. Before,
    held whole and copied whatever the memory (the gzip ratio bound alone: 200 times)."""
    path = _dense(tmp_path / "dense.jsonocel.gz", 2_000_000)  # (6 MB of JSON)
    monkeypatch.setattr(xes, "_MEMORY_STEP", MB, raising=False)
    import audit.memory

    monkeypatch.setattr(audit.memory, "available_memory", lambda: 2 * MB)
    monkeypatch.setattr(ocel, "available_memory", lambda: None, raising=False)
    with pytest.raises(InputError) as caught:
        read_ocel(path, "T")
    message = str(caught.value)
    assert message.startswith(f"{path}: decompresses to more than the memory available: ")
    assert "held whole and then copied once, but 2 MiB is available" in message
    assert "decompressed from the first " in message
    read = int(message.split(": ")[2].split(" bytes")[0].replace(",", ""))
    first = int(message.split("from the first ")[1].split(" compressed")[0].replace(",", ""))
    assert 0 < first < read / 20  # (compressed: 6 MB of JSON in a few KB)
    assert 2 * MB < read <= 3 * MB  # (the first look past the 2 MB left)


def test_the_address_space_limit_lowers_the_memory_left(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """`ulimit -v`: an allocation past it fails though the system has memory to spare, so
    the memory left is at most the limit less the address space held (VmSize)."""
    import resource

    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t 3000000 kB\nVmSize:\t 2000000 kB\n",
                      encoding="ascii")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (3_000_000 * 1024,
                                                              resource.RLIM_INFINITY))
    assert address_space_left(status) == 1_000_000 * 1024
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 9000000 kB\nMemAvailable: 8000000 kB\n", encoding="ascii")
    assert available_memory(meminfo, tmp_path / "none", tmp_path / "none", status) == \
        1_000_000 * 1024
    status.write_text("VmSize:\t 4000000 kB\n", encoding="ascii")
    assert address_space_left(status) == 0
    assert address_space_left(tmp_path / "none") is None
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY,
                                                              resource.RLIM_INFINITY))
    assert address_space_left(status) is None
    assert available_memory(meminfo, tmp_path / "none", tmp_path / "none", status) == \
        8_000_000 * 1024


def _braced(path: Path, objects: int, braces: int, empties: int = 0) -> Path:
    """An OCEL 2.0 JSON log of `objects` objects, each with an attribute value of `braces`
    '{' and '[' characters (and an escaped quote among them, which a scan not honouring
    escapes would take as the string's end) and one event holding `empties` empty
    objects."""
    value = "{[" * (braces // 2) + '\\"{[ "{'
    document = {
        "objectTypes": [{"name": "T", "attributes": [{"name": "note", "type": "string"}]}],
        "eventTypes": [{"name": "A", "attributes": []}],
        "objects": [{"id": f"o{i}", "type": "T",
                     "attributes": [{"name": "note", "time": "2026-01-01T00:00:00Z",
                                     "value": value}]} for i in range(objects)],
        "events": [{"id": "e1", "type": "A", "time": "2026-01-01T00:00:00Z",
                    "relationships": [{"objectId": "o0", "qualifier": ""}],
                    "filler": [{} for _ in range(empties)]}]}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_braces_within_strings_are_not_counted_as_objects(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid log of 250 objects whose notes are long runs of '{' (36 MB) was refused:
    "hold 36,000,763 objects and arrays ... needs at least 1.9 GiB" (the '{' and '[' of its
    strings counted), which it does not need (it holds 763, and imports at a max RSS of
    205 MiB). Now, where the count of every '{' and '[' says refuse, they are counted
    again outside strings (quotes and escapes honoured): read; and a log refused states
    the true count."""
    path = _braced(tmp_path / "braced.jsonocel", 250, 20_000)
    text = path.read_text(encoding="utf-8")
    assert (text.count("{") + text.count("[")) * JSON_CONTAINER_BYTES > 100 * MB
    monkeypatch.setattr(ocel, "available_memory", lambda: 10 * MB, raising=False)
    table = read_ocel(path, "T")
    assert len(table.frame) == 1
    # With 20,000 empty objects besides (1.1 MB at the least), more than the 1 MB left:
    # refused, naming as many as the document decoded holds (not the strings' '{').
    path = _braced(tmp_path / "braced.jsonocel", 250, 20_000, empties=20_000)
    monkeypatch.setattr(ocel, "available_memory", lambda: MB)
    with pytest.raises(InputError) as caught:
        read_ocel(path, "T")
    containers = _containers(json.loads(path.read_text(encoding="utf-8")))
    assert 20_000 < containers < 21_000
    assert f"characters of JSON hold {containers:,} objects and arrays" in str(caught.value)


def test_the_recount_outside_strings_is_linear_on_quotes_that_open_no_string(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recount's search was taken up again after each quote that opens no string (one
    no quote closes), each time scanning to the text's end: `\\"` 600 times before
    2,000,000 `{` (2 KB of gzip) took 15 s to refuse, 0.4 s without the quotes, and 20,000
    times (40 KB) would take minutes. Now the recount stops at such a quote (JSON cannot go
    on past it) and counts the `{` after it, the safe side: refused at once. An alarm of
    20 s ends the test where the work is quadratic."""
    import signal

    def too_long(*_: object) -> None:
        raise TimeoutError("the recount of '{' and '[' outside strings took over 20 s")

    hostile = '\\"' * 20_000 + "{" * 1_000_000
    path = tmp_path / "quotes.jsonocel.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write(hostile)
    monkeypatch.setattr(ocel, "available_memory", lambda: 10 * MB, raising=False)
    before = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(20)
    try:
        assert ocel._containers_outside_strings(hostile) == 1_000_000
        with pytest.raises(InputError) as caught:
            read_ocel(path, "T")
        # Valid JSON of the same quotes and braces within strings, each closed: counted
        # as decoded.
        document = ["\\" + '"' * 2 + "{" * 7, {"a": ['"' * 20_000 + "[{"]}, [{}] * 3]
        text = json.dumps(document)
        assert ocel._containers_outside_strings(text) == _containers(document) == 7
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)
    assert str(caught.value).startswith(
        f"{path}: its 1,040,000 characters of JSON hold 1,000,000 objects and arrays")


def _containers(value: object) -> int:
    if isinstance(value, dict):
        return 1 + sum(_containers(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_containers(v) for v in value)
    return 0


def test_an_event_error_is_told_though_its_line_cannot_be_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An event's error is told with its line, found by reading the file again: through the
    gzip memory bound, which, the decoded log now holding memory, could refuse that second
    read, its InputError of memory then told instead of the event's. Now the event's error
    is told, without its line, where its line cannot be read."""
    document = {
        "objectTypes": [{"name": "T", "attributes": []}],
        "eventTypes": [{"name": "A", "attributes": []}],
        "objects": [{"id": "o1", "type": "T"}],
        "events": [{"id": "e1", "type": "A", "time": "2026-01-01T00:00:00Z",
                    "relationships": [{"objectId": "o1", "qualifier": ""}]},
                   {"id": "e2", "time": "2026-01-01T00:00:00Z",
                    "relationships": [{"objectId": "o1", "qualifier": ""}]}]}
    path = tmp_path / "log.jsonocel.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write(json.dumps(document, indent=1))
    with pytest.raises(InputError) as caught:
        read_ocel(path, "T")
    told = str(caught.value)
    line = caught.value.row
    assert "'type'" in told and caught.value.unit == "line" and line is not None
    # The memory left: ample until the log is decoded, then 100 bytes (its second read
    # refused).
    import audit.memory

    decoded = []
    monkeypatch.setattr(xes, "_MEMORY_STEP", 1, raising=False)
    monkeypatch.setattr(audit.memory, "available_memory",
                        lambda: 100 if decoded else None)
    loads = ocel.loads
    monkeypatch.setattr(ocel, "loads", lambda text: (decoded.append(1), loads(text))[1])
    with pytest.raises(InputError) as caught:
        read_ocel(path, "T")
    assert decoded
    assert caught.value.row is None
    assert f" (line {line})" in told
    assert str(caught.value) == told.replace(f" (line {line})", "")
