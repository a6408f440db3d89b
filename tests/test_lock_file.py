"""requirements.lock (what the image installs) agrees with pyproject.toml: every dependency is
pinned to a version its specifier allows, with hashes, and the lock holds every package the
installed project needs at run time, transitively."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import distribution
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def lock() -> dict[str, tuple[Version, str | None, list[str]]]:
    """name -> (version, marker, hashes), from the lock's entries."""
    entries: dict[str, tuple[Version, str | None, list[str]]] = {}
    current: str | None = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match[1])
            entries[current] = (Version(match[2]), match[3], [])
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            entries[current][2].append(line.strip().split(":", 1)[1].rstrip(" \\"))
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"unexpected lock line {line!r}")
    return entries


def test_every_dependency_is_pinned_within_its_specifier_with_hashes() -> None:
    pinned = lock()
    for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is in pyproject.toml but not in requirements.lock"
        assert pinned[name][0] in requirement.specifier, \
            f"{name}=={pinned[name][0]} does not satisfy {requirement.specifier}: re-lock"
    for name, (_, _, hashes) in pinned.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


def test_the_lock_holds_the_whole_runtime_closure() -> None:
    """Walk the installed project's requirements (markers evaluated for this interpreter,
    the image's Python version) and find each in the lock."""
    pinned = lock()
    environment = default_environment()
    seen: set[str] = set()
    todo = [Requirement(r) for r in distribution("mtlsweep").requires or ()]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate(
                {**environment, "extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        assert name in pinned, f"{name} (needed at run time) is missing from requirements.lock"
        todo += [Requirement(r) for r in distribution(name).requires or ()]
    assert {"trio", "pyopenssl", "cryptography", "h11"} <= seen
