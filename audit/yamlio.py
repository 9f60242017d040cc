"""Reading YAML configuration with line numbers, so errors can name the line."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from audit.errors import InputError

MAX_NODES = 100_000
"""The most nodes a configuration may hold with its aliases expanded: a few kilobytes of
nested aliases ("billion laughs") expand to billions, which any walk over the values (a
text made of a list, a copy) would make."""


class _Loader(yaml.SafeLoader):
    """The safe loader, but a key given twice in one mapping is an error (the last one would
    win unseen: a second `waivers:` emptying the first), and dates stay text, read by the
    setting that takes them (an impossible date such as 2027-02-30 then names its key)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, int] = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = (key_node.tag, key_node.value)
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"key '{key_node.value}' is given twice (first on "
                            f"line {seen[key]})", key_node.start_mark)
                    seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers
            if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _expanded_size(node: yaml.Node) -> int:
    """How many nodes `node` holds with every alias expanded (each shared node counted once
    per reference), without expanding them."""
    sizes: dict[int, int] = {}

    def size(item: yaml.Node) -> int:
        known = sizes.get(id(item))
        if known is not None:
            return known
        sizes[id(item)] = 1  # (a node within itself: counted once)
        total = 1
        if isinstance(item, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in item.value)
        elif isinstance(item, yaml.SequenceNode):
            total += sum(size(v) for v in item.value)
        sizes[id(item)] = total
        return total

    return size(node)


def load_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """(data, node tree) of a YAML file; InputError naming file and line on any problem."""
    data, node, _ = load_yaml_digest(path)
    return data, node


def load_yaml_digest(path: Path) -> tuple[Any, yaml.Node | None, str]:
    """(data, node tree, sha256) of a YAML file, the digest of the very bytes parsed: the
    file is read once (before, a policy's, a mapping's and a sources file's sha256 was
    taken by a read of its own, after the one parsed, so a file edited in between was
    recorded by bytes that were not read); InputError as `load_yaml`'s."""
    try:
        data = path.read_bytes()
    except OSError as exc:  # (the path is named once, by `file`)
        raise InputError(f"cannot read: {exc.strerror or exc}", file=path) from exc
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # (Python's message named a position, not a line)
        from audit.ingest.jsontext import undecodable_at

        bad_line, where = undecodable_at(data, exc)
        raise InputError(f"not UTF-8 text: {where}", file=path, line=bad_line) from exc
    try:
        node = yaml.compose(text, Loader=_Loader)
        if node is not None and _expanded_size(node) > MAX_NODES:
            raise InputError(f"holds more than {MAX_NODES:,} values once its aliases are "
                             "expanded", file=path)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.reader.ReaderError as exc:  # (a character YAML does not allow: a NUL, ...)
        at = int(exc.position)
        character = text[at] if at < len(text) else ""
        shown = f"U+{ord(character):04X}" if character else "a character"
        raise InputError(f"not valid YAML: {shown} is a character YAML does not allow "
                         f"({exc.reason})", file=path, line=text.count("\n", 0, at) + 1) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=path,
                         line=line) from exc
    except RecursionError as exc:
        raise InputError("not valid YAML: nested too deeply", file=path) from exc
    return data, node, digest


def child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    """The value node under a mapping key or sequence index (None if absent)."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                return value_node  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]  # type: ignore[no-any-return]
    return None


def line_of(node: yaml.Node | None, key: str | int | None = None) -> int | None:
    """1-based line of a mapping key (or of the node itself when key is None)."""
    if node is None:
        return None
    if key is None:
        return int(node.start_mark.line) + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                return int(key_node.start_mark.line) + 1
    found = child(node, key)
    return None if found is None else int(found.start_mark.line) + 1
