"""Counts in words: "1 event", "2 events", as every message and report writes them."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None, *, spec: str = "") -> str:
    """`number` (formatted by `spec`, e.g. "," for 1,000) and `noun`, singular for exactly
    one and plural otherwise (`plural`, or `noun` + "s"): "1 case", "0 cases", "2 cases",
    "1 activity" / "2 activities" with `plural="activities"`. (Before, messages wrote "1
    events", "1 duplicates dropped", "(1 cases)".)"""
    return f"{number:{spec}} {noun if number == 1 else plural or noun + 's'}"
