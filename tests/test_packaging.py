"""pyproject.toml against what the build and the installed package need."""

from __future__ import annotations

import fnmatch
import subprocess
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_setuptools_reads_the_license_expression() -> None:
    """`license = "AGPL-3.0-or-later"` (a string: an SPDX expression, PEP 639) needs
    setuptools 77 or later; the stated minimum, 69, refused the file."""
    assert isinstance(PROJECT["project"]["license"], str)
    setuptools = next(Requirement(r) for r in PROJECT["build-system"]["requires"]
                      if Requirement(r).name == "setuptools")
    assert not setuptools.specifier.contains(Version("76.1.0"))
    assert setuptools.specifier.contains(Version("77.0.3"))


def test_typed_packages_ship_py_typed() -> None:
    """Every package mypy checks strictly is marked typed (PEP 561) in the wheel too: code
    importing it from an installation got "missing library stubs or py.typed marker"."""
    data = PROJECT["tool"]["setuptools"]["package-data"]
    for package in PROJECT["tool"]["mypy"]["packages"]:
        assert (REPO / package / "py.typed").is_file(), package
        assert "py.typed" in data.get(package, []), package


def test_package_data_holds_every_file_of_the_packages() -> None:
    """Each file the repository keeps in a package folder, other than Python source, is
    package data (the templates, the SOPs, the default policy, the demo's sample): a file
    left out is missing from the wheel, and the installed command fails where the
    checkout worked."""
    data = PROJECT["tool"]["setuptools"]["package-data"]
    tracked = subprocess.run(["git", "ls-files", "--", *data], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.splitlines()
    assert tracked
    for name in tracked:
        package, _, inside = name.partition("/")
        if name.endswith(".py"):
            continue
        patterns = data[package]
        assert any(fnmatch.fnmatch(inside, p) or (p.startswith("**/") and (
            fnmatch.fnmatch(inside, p[3:]) or fnmatch.fnmatch(inside, p)))
            for p in patterns), f"{name} is not package data: {patterns}"
