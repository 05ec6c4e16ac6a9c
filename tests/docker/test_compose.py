"""docker/compose.yaml and docker/Dockerfile, checked without a Docker engine.

`docker compose config` is not available here, so the file is loaded as YAML (with its merge
keys) and checked for what a CeleryExecutor deployment of tokenrisk needs.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
AIRFLOW_COMMANDS = {
    "airflow-api-server": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    "airflow-worker": ["celery", "worker"],
}
# where tasks, or the callbacks of tasks that died, run: they read and write the data dir
DATA_USERS = {"airflow-worker", "airflow-dag-processor", "airflow-scheduler", "airflow-init"}
OTHER_SERVICES = ("postgres", "redis", "minio", "minio-init")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def airflow_services(services: dict) -> dict:
    return {name: s for name, s in services.items() if name not in OTHER_SERVICES}


def test_every_component_is_there(services):
    assert set(AIRFLOW_COMMANDS) | {"postgres", "redis", "airflow-init"} <= set(services)
    for name, command in AIRFLOW_COMMANDS.items():
        assert services[name]["command"] == command, name
        assert services[name]["entrypoint"] == ["airflow"], name
        assert "healthcheck" in services[name], name
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")


def test_every_airflow_service_runs_the_project_image(services):
    for name, service in airflow_services(services).items():
        assert service["image"] == "${TOKENRISK_IMAGE:-tokenrisk:latest}", name
        assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}, name
        assert service["user"] == "50000:0", name


def test_celery_executor_on_postgres_and_redis(services):
    for name, service in airflow_services(services).items():
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
            "postgresql+psycopg2://airflow:"
        )
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow")
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
            "http://airflow-api-server:8080/execution/"
        )
        # one JWT secret everywhere, or workers fail with "Invalid auth token"
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW_JWT_SECRET:?")
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/tokenrisk/dags"
        depends = service["depends_on"]
        healthy = {depends[s]["condition"] for s in ("postgres", "redis")}
        assert healthy == {"service_healthy"}, name
        assert depends["minio-init"]["condition"] == "service_completed_successfully", name
        if name != "airflow-init":
            assert depends["airflow-init"]["condition"] == "service_completed_successfully"


def test_the_lake_is_on_minio_with_keys_from_the_env_file(compose, services):
    from pipeline.store import parse_url

    for name, service in airflow_services(services).items():
        env = service["environment"]
        assert env["TOKENRISK_DATA_DIR"] == "${TOKENRISK_DATA_DIR:-s3://tokenrisk/lake}", name
        assert parse_url("s3://tokenrisk/lake").bucket == "tokenrisk"
        assert env["AWS_ENDPOINT_URL"] == "${TOKENRISK_S3_ENDPOINT:-http://minio:9000}", name
        # keys only from docker/.env: compose refuses to start without them
        assert env["AWS_ACCESS_KEY_ID"].startswith("${TOKENRISK_S3_ACCESS_KEY:?"), name
        assert env["AWS_SECRET_ACCESS_KEY"].startswith("${TOKENRISK_S3_SECRET_KEY:?"), name
        assert env["TOKENRISK_CACHE_DIR"] == "/data/cache", name
    minio = services["minio"]
    assert minio["image"].split(":-", 1)[-1].startswith("minio/minio")
    assert minio["command"] == ["server", "/data", "--console-address", ":9001"]
    assert "minio-data:/data" in minio["volumes"] and "minio-data" in compose["volumes"]
    assert minio["environment"]["MINIO_ROOT_PASSWORD"].startswith("${MINIO_ROOT_PASSWORD:?")
    init = services["minio-init"]
    assert init["image"].split(":-", 1)[-1].startswith("minio/mc")
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    assert init["restart"] == "no"
    script = init["command"][0]
    assert "mc mb --ignore-existing lake/tokenrisk" in script
    assert 'mc admin user add lake "$TOKENRISK_S3_ACCESS_KEY"' in script.replace("$$", "$")
    # the root account stays with MinIO and its init: the Airflow services never see it
    for name, service in airflow_services(services).items():
        assert not any("MINIO_ROOT" in str(v) for v in service["environment"].values()), name


def test_secrets_are_not_committed():
    example = (DOCKER / "env.example").read_text()
    for name in ("MINIO_ROOT_PASSWORD", "TOKENRISK_S3_SECRET_KEY", "AIRFLOW_JWT_SECRET"):
        assert re.search(rf"^{name}=$", example, flags=re.M), name
    assert not (DOCKER / ".env").exists() or ".env" in (REPO / ".gitignore").read_text()


def test_the_working_copy_volume(compose, services):
    assert "tokenrisk-data" in compose["volumes"]
    for name in DATA_USERS:
        assert "tokenrisk-data:/data" in services[name]["volumes"], name
    # the api-server shows every task's log: the workers write them to a shared volume
    for name in ("airflow-worker", "airflow-api-server"):
        assert "airflow-logs:/opt/airflow/logs" in services[name]["volumes"], name


def test_volumes_mount_on_directories_the_airflow_user_owns(compose, services):
    # a new named volume takes the owner of the image directory it is mounted on; a
    # directory missing from the image would come up root-owned and unwritable for uid 50000
    dockerfile = (DOCKER / "Dockerfile").read_text()
    made = re.search(r"mkdir -p ([^\\&]+)", dockerfile).group(1).split()
    assert re.search(r"chown -R 50000:0 /data /opt/airflow\b", dockerfile)
    for name, service in airflow_services(services).items():
        for mount in service["volumes"]:
            volume, target = mount.split(":")
            assert volume in compose["volumes"], (name, mount)
            assert target in made, (name, target)


def test_init_migrates_and_imports_the_pools(services):
    init = services["airflow-init"]
    script = init["command"][0]
    assert init["entrypoint"] == ["/bin/bash", "-c"]
    assert init["restart"] == "no"
    steps = [s.strip() for s in script.split(";")]
    assert steps[:4] == [
        "set -euo pipefail",
        "airflow db migrate",
        "python -m pipeline.orchestration pools > /tmp/tokenrisk_pools.json",
        "airflow pools import /tmp/tokenrisk_pools.json",
    ]


def test_variables_have_a_default_or_are_in_env_example():
    text = (DOCKER / "compose.yaml").read_text()
    example = (DOCKER / "env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z0-9_]+)=", example, flags=re.M))
    for name, operator in re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)(:-|:\?)?", text):  # $$: escaped
        assert operator in (":-", ":?"), f"${{{name}}} needs a default or an error message"
        assert name in documented, f"{name} is not in docker/env.example"


def test_dockerfile_copies_what_exists_and_adds_only_new_packages():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", dockerfile, flags=re.M):
        *sources, _target = line.split()
        for source in sources:
            assert (REPO / source).exists(), source
    assert "uv sync --frozen --no-dev --inexact" in dockerfile  # keeps the Celery packages

    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {p["name"] for p in lock["package"]}
    wanted = {}
    for line in (DOCKER / "requirements-celery.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            wanted[name] = version
    assert {"apache-airflow-providers-celery", "apache-airflow-providers-postgres"} <= set(wanted)
    assert {"celery", "redis", "psycopg2-binary", "asyncpg"} <= set(wanted)
    # everything else comes from uv.lock, at its locked version (the -c constraints)
    assert not set(wanted) & locked
