"""The deployment files, checked statically (no Docker engine here) and, where a part can
run without Docker, run: the image's health check against a served gateway, the compose
file's environment through switchboard's own configuration loader, the Makefile's checks."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from app.__main__ import DRAIN_STEP_TIMEOUT
from app.config import Settings
from tests.conftest import EmulatorServer
from tests.graphql.conftest import Gateway, serve_gateway
from tests.web.conftest import under_ci

ROOT = Path(__file__).parents[2]


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    found = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text())


def final_stage() -> list[tuple[str, str]]:
    starts = [i for i, (keyword, _) in enumerate(DOCKERFILE) if keyword == "FROM"]
    return DOCKERFILE[starts[-1] :]


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users == ["10001:10001"]  # numeric: Kubernetes runAsNonRoot can verify it
    # Nothing runs as root after it.
    after = final_stage()[[k for k, _ in final_stage()].index("USER") :]
    assert [k for k, _ in after if k == "RUN"] == []


def test_locked_dependencies_are_installed_before_the_code_is_copied() -> None:
    steps = [f"{keyword} {args}" for keyword, args in DOCKERFILE]
    lock_copy = next(i for i, s in enumerate(steps) if s.startswith("COPY requirements.lock"))
    install = next(i for i, s in enumerate(steps) if "-r /tmp/requirements.lock" in s)
    code_copy = next(i for i, s in enumerate(steps) if re.match(r"COPY (\./)?app\b", s))
    assert lock_copy < install < code_copy
    assert "--require-hashes" in steps[install]
    # The project is not pip-installed (which would resolve build dependencies unlocked).
    assert not any(re.search(r"pip install[^\n]* \.(\s|$)", s) for s in steps)


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    text = (ROOT / "requirements.lock").read_text()
    pinned: dict[str, str] = {}
    for block in re.split(r"\n(?=[a-zA-Z])", text):
        first = block.splitlines()[0]
        if first.startswith("#") or not first.strip():
            continue
        name, _, version = first.split(" ")[0].partition("==")
        assert version, f"not pinned: {first}"
        assert "--hash=sha256:" in block, f"no hash: {name}"
        pinned[canonicalize_name(name)] = version
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["otel"]
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is in pyproject.toml, not in requirements.lock"
        assert requirement.specifier.contains(pinned[name]), (name, pinned[name])


def healthcheck_command() -> list[str]:
    (args,) = [args for keyword, args in final_stage() if keyword == "HEALTHCHECK"]
    command: list[str] = json.loads(args[args.index("CMD") + len("CMD") :].strip())
    return command


@pytest.fixture
async def gateway(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    async with serve_gateway(emulator_server) as gateway:
        yield gateway


async def test_the_health_check_follows_the_configured_port(gateway: Gateway) -> None:
    command = healthcheck_command()
    assert command[0] == "python"
    port = gateway.url.rsplit(":", 1)[1]

    async def check(env_port: str) -> int:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *command[1:], env={**os.environ, "SWITCHBOARD_PORT": env_port}
        )
        return await process.wait()

    assert await check(port) == 0
    assert await check("1") != 0  # nothing there: unhealthy, not a hang


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_runs_two_instances_redis_and_hive_gateway() -> None:
    services = compose()["services"]
    instances = {n: s for n, s in services.items() if s.get("build") == "." and "ports" in s}
    assert sorted(instances) == ["switchboard-1", "switchboard-2"]
    assert services["redis"]["image"].startswith("redis:")
    gateway = services["gateway"]
    image, _, tag = gateway["image"].partition(":")
    assert image == "ghcr.io/graphql-hive/gateway"
    lock = json.loads((ROOT / "tests/federation/package-lock.json").read_text())
    # The same Hive Gateway release the federation tests run.
    assert tag == lock["packages"]["node_modules/@graphql-hive/gateway"]["version"]
    for volume in gateway["volumes"]:
        source = volume.split(":")[0]
        assert (ROOT / source).is_file(), source
    host_ports = [s["ports"][0].split(":")[0] for s in instances.values()]
    assert len(set(host_ports)) == 2


def test_each_instance_environment_is_a_valid_configuration() -> None:
    services = compose()["services"]
    emulators_port = services["emulators"]["command"][-1]
    for name in ("switchboard-1", "switchboard-2"):
        env = {k: str(v) for k, v in services[name]["environment"].items()}
        settings = Settings.from_env(env)  # unknown names and bad values raise here
        assert settings.live.broadcast_url == "redis://redis:6379/0", name
        assert settings.server.host == "0.0.0.0"
        assert len(settings.vendors.configured) == 5
        for vendor in settings.vendors.configured.values():
            assert vendor.url.startswith(f"http://emulators:{emulators_port}/")
        assert "switchboard" in services[name]["networks"]["default"]["aliases"]


def test_the_committed_supergraph_routes_to_the_instances() -> None:
    sdl = (ROOT / "deploy/supergraph.graphql").read_text()
    assert 'url: "http://switchboard:8000/graphql"' in sdl


def test_the_committed_supergraph_is_schema_graphql_composed() -> None:
    node = shutil.which("node")
    composer = ROOT / "tests/federation/node_modules/@apollo/composition"
    if node is None or not composer.exists():
        if under_ci():
            pytest.fail("CI composes the supergraph: node and tests/federation's packages")
        pytest.skip("node or tests/federation/node_modules missing (make federation-deps)")
    out = subprocess.run(
        [
            node,
            "tests/federation/compose.mjs",
            "switchboard",
            "http://switchboard:8000/graphql",
            "schema.graphql",
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    )
    composed = json.loads(out.stdout)["apollo"]
    assert composed["errors"] == []
    committed = (ROOT / "deploy/supergraph.graphql").read_text()
    assert committed == composed["supergraphSdl"].rstrip() + "\n", "run `make supergraph`"


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_run_takes_a_port() -> None:
    # -n: print the commands, run nothing; `install` is asked to be up to date (-o).
    with_port = make("-n", "-o", "install", "run", "PORT=9000")
    assert shlex.split(with_port.stdout.splitlines()[-1])[-2:] == ["--port", "9000"]
    without = make("-n", "-o", "install", "run")
    assert "--port" not in without.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_a_venv_of_an_older_python_is_refused_clearly(tmp_path: Path) -> None:
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    # Answers the two questions the Makefile asks as a Python 3.9 would.
    fake.write_text(
        '#!/bin/sh\ncase "$2" in *version_info*) exit 1;; *python_version*) echo 3.9.18;; esac\n'
    )
    fake.chmod(0o755)
    refused = make("python-check", f"VENV={tmp_path / '.venv'}")
    assert refused.returncode != 0
    assert "was made by Python 3.9.18; switchboard needs >= 3.11" in refused.stderr
    assert "rm -rf" in refused.stderr
    accepted = make("python-check")  # this checkout's own .venv
    assert accepted.returncode == 0, accepted.stderr


def seconds(duration: str) -> float:
    """A compose duration such as "20s" or "1m30s"."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert duration, "empty"
    assert parts is not None, duration
    return int(parts[1] or 0) * 60 + int(parts[2] or 0)


def test_compose_waits_out_the_drain_before_killing() -> None:
    services = compose()["services"]
    for name in ("switchboard-1", "switchboard-2"):
        env = {k: str(v) for k, v in services[name]["environment"].items()}
        server = Settings.from_env(env).server
        needed = DRAIN_STEP_TIMEOUT + server.drain_delay + server.drain_timeout
        assert seconds(services[name]["stop_grace_period"]) > needed, name


def kubernetes() -> dict[str, dict[str, Any]]:
    documents = yaml.safe_load_all((ROOT / "deploy/kubernetes.yaml").read_text())
    return {document["kind"]: document for document in documents}


def test_the_kubernetes_deployment_is_a_valid_configuration_probed_on_its_port() -> None:
    manifest = kubernetes()
    pod = manifest["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    # Secret references stand for values the cluster holds.
    env = {e["name"]: e.get("value", "from-a-secret") for e in container["env"]}
    settings = Settings.from_env(env)  # unknown names and bad values raise here
    assert settings.server.host == "0.0.0.0"
    assert settings.live.broadcast_url.startswith("redis://")
    [port] = container["ports"]
    assert port["containerPort"] == settings.server.port
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    # The image's user (Dockerfile USER), not root.
    user = dict(final_stage())["USER"]
    assert f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == user
    assert pod["securityContext"]["runAsNonRoot"] is True
    service = manifest["Service"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert service["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"


def test_the_kubernetes_pod_serves_until_readiness_is_noticed_and_is_killed_after_the_drain() -> (
    None
):
    pod = kubernetes()["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e.get("value", "from-a-secret") for e in container["env"]}
    server = Settings.from_env(env).server
    readiness = container["readinessProbe"]
    noticed = readiness["periodSeconds"] * readiness["failureThreshold"]
    assert server.drain_delay > noticed  # the endpoints drop the pod before it stops listening
    needed = DRAIN_STEP_TIMEOUT + server.drain_delay + server.drain_timeout
    assert pod["terminationGracePeriodSeconds"] > needed
