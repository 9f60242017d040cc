"""The command lines the documentation shows use options the commands have."""

from __future__ import annotations

import re
from pathlib import Path

import click

from audit.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "docs" / "rules").glob("*.md")), ROOT / "models" / "README.md",
        ROOT / "bench" / "README.md"]


def _options(command: click.Command) -> set[str]:
    return {name for p in command.params if isinstance(p, click.Option)
            for name in (*p.opts, *p.secondary_opts)}


def _commands() -> dict[str, set[str]]:
    group = _options(main)
    commands: dict[str, set[str]] = {}
    for name, command in main.commands.items():
        commands[name] = _options(command) | group
        if isinstance(command, click.Group):
            for sub, subcommand in command.commands.items():
                commands[f"{name} {sub}"] = _options(subcommand) | group
    return commands


def _snippets(text: str) -> list[str]:
    """Each line of a code block (continuation lines joined) and each inline code span."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return lines + re.findall(r"(?<!`)`([^`\n]+)`(?!`)", prose)


def unknown_options(text: str) -> list[str]:
    """'COMMAND OPTION: snippet' for each option a shown command line gives that COMMAND
    lacks. A snippet counts as a command line where it starts with `refund-audit COMMAND`, or
    with a bare COMMAND followed by an option (`check --sop M.bpmn`)."""
    commands = _commands()
    names = "|".join(re.escape(n) for n in sorted(commands, key=len, reverse=True))
    line = re.compile(rf"^(refund-audit\s+)?(?:(?:-q|-v|--quiet|--verbose)\s+)?({names})\b(.*)$",
                      re.S)
    found = []
    for snippet in _snippets(text):
        match = line.match(snippet.strip())
        if match is None or (match[1] is None and "--" not in match[3]):
            continue
        for option in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", match[3]):
            if option not in commands[match[2]]:
                found.append(f"{match[2]} {option}: {snippet.strip()}")
    return found


def test_the_scan_finds_an_option_a_command_lacks() -> None:
    text = "Run `check --select SD001` or\n```sh\nrefund-audit import a.csv --out x \\\n" \
           "    --selekt y\n```\n`check --sop M.bpmn` and `refund-audit -q check L --out D`."
    assert unknown_options(text) == [
        "import --selekt: refund-audit import a.csv --out x      --selekt y",
        "check --select: check --select SD001"]


def test_documented_command_lines_use_existing_options() -> None:
    """bench/README.md said a rule runs alone `as check --select CODE`: check has no such
    option (a policy's `rules: {select: [...]}` selects rules)."""
    found = {str(path.relative_to(ROOT)): unknown_options(path.read_text(encoding="utf-8"))
             for path in DOCS}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_discovery_docs_say_how_to_read_a_log_needing_an_import_option() -> None:
    """docs/discovery-and-compare.md said LOG is 'any log import reads' (OCEL included),
    while discover and compare had not every option such a log needs: the page said to
    import it with them first. Both now take every reading option of `import`, as check
    does: the page names each, and each is in both commands' synopses, there and in the
    README's table."""
    from audit.cli import IMPORT_READING_OPTIONS

    text = " ".join((ROOT / "docs" / "discovery-and-compare.md").read_text(
        encoding="utf-8").split())
    paragraph = text[text.index("`LOG` is any log"):text.index("**Completions only.**")]
    lines = [*(ROOT / "docs" / "discovery-and-compare.md").read_text(
        encoding="utf-8").splitlines(), *(ROOT / "README.md").read_text(
        encoding="utf-8").splitlines()]
    for name in ("discover", "compare"):
        assert [o for o in IMPORT_READING_OPTIONS if o not in _commands()[name]] == []
        # (the page's synopsis and the README table's)
        synopses = [line.split("` |")[0] for line in lines
                    if line.lstrip("| `").startswith(f"refund-audit {name} ")]
        assert len(synopses) == 2, (name, synopses)
        for synopsis in synopses:
            assert [o for o in IMPORT_READING_OPTIONS if o not in synopsis] == [], synopsis
    assert [o for o in IMPORT_READING_OPTIONS if f"`{o}" not in paragraph] == [], paragraph
    assert "is imported with them first" not in paragraph


def _shown_as_required(synopsis: str) -> set[str]:
    """The options a synopsis shows outside brackets with a placeholder (`--out DIR`,
    `--channel C`, `--channel a|b`): those it says must be given. Alternatives (`--source
    S ... \\| --project P`: one or the other) are not."""
    bare = " ".join(synopsis.split())
    bare = re.sub(r"--[\w-]+ \S+(?: \.\.\.)? \\\| --[\w-]+ \S+", "", bare)
    while (shorter := re.sub(r"\[[^\[\]]*\]", "", bare)) != bare:
        bare = shorter
    return set(re.findall(r"(?<![\w-])(--[a-z][\w-]*) (?:[A-Z][A-Z0-9_.:/-]*|\w+(?:\|\w+)+)\b",
                          bare))


def _synopses() -> list[tuple[str, str, click.Command]]:
    """(file, synopsis, command): the README's table of commands, and every synopsis of
    `refund-audit sample` in the docs."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        rows = re.findall(r"^\| `(refund-audit [^`]+)`", text, re.M) if path.name == "README.md" \
            else []
        rows += [s for s in re.findall(r"`(refund-audit sample [^`]+)`", text)
                 + re.findall(r"^(refund-audit sample .+)$", text, re.M) if s not in rows]
        for synopsis in rows:
            words = synopsis.split()[1:3]
            command = main.commands.get(words[0])
            if isinstance(command, click.Group):
                command = command.commands.get(words[1])
            if command is not None:
                found.append((str(path.relative_to(ROOT)), synopsis, command))
    return found


def test_synopses_show_as_required_only_the_required_options() -> None:
    """README and docs showed `refund-audit sample --channel C --cases N --seed S
    --violation-rate R ... --out DIR`, as if each were required: all but --out have a
    default (all, 300, 1, 0.25)."""
    synopses = _synopses()
    assert any("sample" in s for _, s, _ in synopses)
    wrong = []
    for path, synopsis, command in synopses:
        required = {o for p in command.params if isinstance(p, click.Option) and p.required
                    for o in p.opts}
        for option in sorted(_shown_as_required(synopsis) - required):
            wrong.append(f"{path}: {option} in {synopsis}")
    assert wrong == []
