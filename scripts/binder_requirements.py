"""Write binder/requirements.txt: the pins from constraints.txt that the Binder extras need, then the project itself.

Binder installs ``binder/requirements.txt`` with pip, so it gets the very versions ``make test`` and ``make demo``
use, but only the packages the dashboards need (not the test, benchmark or real-service clients). The set is the
closure of the project's core dependencies and :data:`EXTRAS` over the ``# via`` annotations uv writes into
constraints.txt, so nothing is resolved here: the file follows constraints.txt exactly and is rebuilt offline.

``python scripts/binder_requirements.py`` rewrites the file; ``--check`` exits 1 when it is out of date
(``make binder-requirements`` runs the first, tests/unit/test_binder_requirements.py the second).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: What the curated dashboards need beyond the core: Voila and JupyterLab, route planning (maps), text insights.
EXTRAS = ("dashboards", "routing", "text")
TARGET = ROOT / "binder" / "requirements.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")
#: A requirement's name and extras (``SQLAlchemy>=2.0,<2.1``, ``codex-jupyter[kafka,mqtt]``): stdlib only, so any
#: Python 3.11 runs this script before a virtual environment exists.
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def canonicalize_name(name: str) -> str:
    """PEP 503's normal form, as pip and uv compare names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _name_and_extras(requirement: str) -> tuple[str, set[str]]:
    match = _REQUIREMENT.match(requirement)
    if match is None:
        raise SystemExit(f"pyproject.toml: cannot read the requirement {requirement!r}")
    return canonicalize_name(match.group(1)), {e.strip() for e in (match.group(2) or "").split(",") if e.strip()}


def parse_constraints(text: str) -> dict[str, tuple[str, set[str]]]:
    """Each pinned package (canonical name) -> (its pin line, the packages that need it)."""
    pins: dict[str, tuple[str, set[str]]] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if match := _PIN.match(line):
            current = canonicalize_name(match.group(1))
            pins[current] = (line, set())
        elif current and (parent := _parent(line)):
            pins[current][1].add(canonicalize_name(parent))
        elif not line.startswith("#"):
            current = None
    return pins


def _parent(line: str) -> str | None:
    """The package a ``# via`` comment line names, if any.

    uv writes one parent on the ``via`` line itself (``# via ortools``) and several one per line under it
    (``#   fugue``); ``-c constraints.in`` lines are constraints, not parents. Reading only the second form once
    dropped 81 of the Binder pins when the file was compiled afresh.
    """
    for lead in ("# via ", "#   "):
        if line.startswith(lead):
            name = line[len(lead) :].strip()
            if name and not name.startswith("-"):
                return name.split(" (")[0].split("[")[0].strip()  # "codex-jupyter (pyproject.toml)", "moto[server]"
    return None


def roots(pyproject: dict, extras: tuple[str, ...]) -> set[str]:
    """The project's own requirements for the core and ``extras`` (following ``codex-jupyter[...]`` self-references)."""
    project = pyproject["project"]
    own = canonicalize_name(project["name"])
    optional = project["optional-dependencies"]
    names, todo, seen = set(), [*project["dependencies"], *(d for e in extras for d in optional[e])], set(extras)
    while todo:
        name, wanted = _name_and_extras(todo.pop())
        if name != own:
            names.add(name)
            continue
        for extra in wanted - seen:
            seen.add(extra)
            todo.extend(optional[extra])
    return names


def needed(pins: dict[str, tuple[str, set[str]]], start: set[str]) -> set[str]:
    """Every package reachable from ``start`` over the ``via`` edges (needed if a needed package needs it)."""
    missing = start - pins.keys()
    if missing:
        raise SystemExit(f"constraints.txt has no pin for {', '.join(sorted(missing))}: run make constraints")
    chosen = set(start)
    grew = True
    while grew:
        grew = False
        for name, (_, parents) in pins.items():
            if name not in chosen and parents & chosen:
                chosen.add(name)
                grew = True
    return chosen


def render(root: Path = ROOT, extras: tuple[str, ...] = EXTRAS) -> str:
    """The text of binder/requirements.txt for the checkout at ``root``."""
    pins = parse_constraints((root / "constraints.txt").read_text())
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    chosen = needed(pins, roots(pyproject, extras))
    header = [
        "# Generated from constraints.txt by scripts/binder_requirements.py (make binder-requirements): do not edit.",
        f"# The pins the core and the [{','.join(extras)}] extras need, then the project itself, editable, so the",
        "# JavaScript that binder/postBuild builds into the package is the one the server loads.",
    ]
    return "\n".join([*header, *sorted(pins[n][0] for n in chosen), f"-e .[{','.join(extras)}]", ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if binder/requirements.txt is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not TARGET.is_file() or TARGET.read_text() != text:
            print("binder/requirements.txt is out of date: run make binder-requirements", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
