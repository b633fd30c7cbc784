"""What ships: the Dockerfile copies every module the package holds and runs as a
user; docker-compose.yml sets only settings that exist. (The docker client here
has no compose plugin, so `docker compose config` cannot run: these read the files.)"""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

from settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _project() -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return project


def test_the_image_carries_every_module_and_runs_as_a_user() -> None:
    docker = (ROOT / "Dockerfile").read_text()
    tool = _project()["tool"]
    assert isinstance(tool, dict)
    modules = tool["setuptools"]["py-modules"]
    packages = [p.rstrip("*") for p in tool["setuptools"]["packages"]["find"]["include"]]
    copied = " ".join(line for line in docker.splitlines() if line.startswith("COPY"))
    missing = [m for m in [*(f"{m}.py" for m in modules), *packages] if m not in copied]
    assert missing == []
    assert "\nUSER zebros" in docker
    assert "HEALTHCHECK" in docker
    assert "[embedded]" not in docker  # no moto, no fakeredis in the image


def _setting_exists(name: str) -> bool:
    path = name.removeprefix("ZEBROS_").lower().split("__")
    model: object = Settings
    for part in path:
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return False
        model = fields[part].annotation
    return True


def test_the_lambda_is_configured_with_settings_that_exist() -> None:
    from deploy.function import environment

    variables = environment()
    assert [name for name in variables if not _setting_exists(name)] == []


def test_compose_sets_only_settings_that_exist() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["services"]["app"]["environment"]
    assert [name for name in environment if not _setting_exists(name)] == []
    assert {"app", "dynamodb", "minio", "redis"} <= set(compose["services"])
