"""Installs are reproducible: the venv holds what requirements.lock pins, and the
README's `make lock` / `make lock-upgrade` work (run against copies of the lock)."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", re.MULTILINE)


def _pins(text: str) -> dict[str, str]:
    return {_norm(name): version for name, version in PIN.findall(text)}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _direct() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    wanted = [*project["dependencies"], *(r for extra in extras for r in extra)]
    return [Requirement(r) for r in wanted if not r.startswith("zebros-crm")]


def _make(target: str, out: Path) -> None:
    done = subprocess.run(
        ["make", "-s", target, f"LOCK_OUT={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_venv_holds_what_the_lock_pins() -> None:
    pins = _pins(LOCK.read_text())
    assert len(pins) > 50, "requirements.lock pins the whole tree"
    installed = {_norm(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    off = {n: (v, installed[n]) for n, v in pins.items() if n in installed and installed[n] != v}
    assert off == {}, "installed versions differ from requirements.lock: run `make clean test`"
    for req in _direct():
        assert _norm(req.name) in pins, f"{req.name} is not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[_norm(req.name)], prereleases=True), req


def test_make_lock_keeps_every_pin_when_pyproject_is_unchanged(tmp_path: Path) -> None:
    copy = tmp_path / "requirements.lock"
    shutil.copy(LOCK, copy)
    _make("lock", copy)
    assert _pins(copy.read_text()) == _pins(LOCK.read_text()), "requirements.lock is stale"


def test_make_lock_upgrade_writes_a_lock_that_satisfies_pyproject(tmp_path: Path) -> None:
    out = tmp_path / "requirements.lock"
    shutil.copy(LOCK, out)
    _make("lock-upgrade", out)
    pins = _pins(out.read_text())
    for req in _direct():
        assert req.specifier.contains(pins[_norm(req.name)], prereleases=True), req
