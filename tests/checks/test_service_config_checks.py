"""config.database, config.redis, config.rabbitmq, config.integrations and config.phone_version through the real
catalog and pipeline, on real files written per test (issue 13's config lint)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.catalog.model import Catalog
from evodiag.config import Settings
from evodiag.engine.context import RunOptions
from evodiag.engine.results import Result, Status
from evodiag.engine.runner import Pipeline

IDS = ("config.database", "config.redis", "config.rabbitmq", "config.integrations", "config.phone_version")
SECRET = "Pg-s3cret-Value-77"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def compose(tmp_path: Path, tag: str = "v2.3.6", extra: str = "") -> Path:
    path = tmp_path / "docker-compose.yml"
    path.write_text(
        "services:\n"
        "  evolution-api:\n"
        f"    image: evoapicloud/evolution-api:{tag}\n"
        "    env_file: [.env]\n"
        "  pg:\n    image: postgres:16-alpine\n"
        "  cache:\n    image: redis:7-alpine\n"
        "  broker:\n    image: rabbitmq:4.1-management\n" + extra, encoding="utf-8")
    return path


def run(catalog: Catalog, tmp_path: Path, env_text: str, *, with_compose: str | None = None,
        ids: tuple[str, ...] = IDS) -> dict[str, Result]:
    env = tmp_path / ".env"
    env.write_text(env_text, encoding="utf-8")
    values: dict[str, object] = {"files.env": [str(env)]}
    if with_compose is not None:
        values["files.compose"] = [str(compose(tmp_path, with_compose))]
    report = asyncio.run(Pipeline(catalog, Settings(values=values), RunOptions(timeout=2, only=ids)).run())
    return {r.id: r for r in report.results}


def text(result: Result) -> str:
    return json.dumps(result.to_dict())


GOOD = (
    "DATABASE_PROVIDER=postgresql\n"
    f"DATABASE_CONNECTION_URI=postgresql://evo:{SECRET}@pg:5432/evolution?schema=evolution_api\n"
    "CACHE_REDIS_ENABLED=true\nCACHE_REDIS_URI=redis://cache:6379/6\nCACHE_REDIS_PREFIX_KEY=evolution\n"
    "RABBITMQ_ENABLED=true\nRABBITMQ_URI=amqp://evo:guestpw@broker:5672\n"
    "TYPEBOT_ENABLED=true\nCHATWOOT_ENABLED=false\n"
)

# The issue's example: four root causes a new user hits, all in one .env used by a compose service.
ISSUE_EXAMPLE = (
    "SERVER_URL=http://evolution-api:8080\n"
    "DATABASE_PROVIDER=postgresql\n"
    f"DATABASE_URL=postgresql://evo:{SECRET}@pg:5432/evolution?schema=public\n"
    "CACHE_REDIS_ENABLED=true\n"
    "CACHE_REDIS_URI=redis://localhost:6379/6\n"
    "REDIS_URI=redis://cache:6379\n"
    "CONFIG_SESSION_PHONE_VERSION=2.3000.1015901307\n"
)


def test_the_issue_example_finds_all_four_root_causes(catalog: Catalog, tmp_path: Path) -> None:
    results = run(catalog, tmp_path, ISSUE_EXAMPLE, with_compose="latest")
    db, redis, phone = results["config.database"], results["config.redis"], results["config.phone_version"]
    assert db.status is Status.FAIL and "DATABASE_URL" in db.message and "DATABASE_CONNECTION_URI" in db.message
    assert redis.status is Status.FAIL
    assert "localhost" in redis.message and "container" in redis.message  # what Evolution really uses leads
    assert any("REDIS_URI" in n and "not read" in n for n in redis.notes)
    assert "redis://cache:6379/6" in text(redis)  # the fix names the compose Redis service
    assert phone.status is Status.WARN and "2.3000.1015901307" in phone.message
    assert "evolution-api" in " ".join(db.remediation.commands)  # commands filled with the compose service
    for result in results.values():
        assert SECRET not in text(result)


def test_without_a_container_localhost_is_not_a_finding(catalog: Catalog, tmp_path: Path) -> None:
    results = run(catalog, tmp_path, GOOD.replace("cache:6379", "localhost:6379").replace("@pg:", "@127.0.0.1:"))
    assert results["config.redis"].status is Status.PASS
    assert results["config.database"].status is Status.PASS


def test_good_settings_pass_every_check(catalog: Catalog, tmp_path: Path) -> None:
    results = run(catalog, tmp_path, GOOD, with_compose="v2.3.6")
    assert {i: results[i].status for i in IDS} == dict.fromkeys(IDS, Status.PASS), {
        i: results[i].message for i in IDS}
    assert "Typebot" in results["config.integrations"].message.split("off:")[0]


# ------------------------------------------------------------------------------------------------ database


@pytest.mark.parametrize("env_text,needle", [
    ("DATABASE_PROVIDER=mysql\nDATABASE_CONNECTION_URI=postgresql://u:p@db:5432/e\n", "postgresql:// URI but"),
    ("DATABASE_PROVIDER=postgres\nDATABASE_CONNECTION_URI=postgresql://u:p@db:5432/e\n", "postgres is not"),
    ("DATABASE_PROVIDER=psql_bouncer\nDATABASE_CONNECTION_URI=postgresql://u:p@db:5432/e\n", "BOUNCER"),
    ("DATABASE_CONNECTION_URI=mongodb://u:p@mongo:27017/e\n", "mongodb:// URI"),
    ("DATABASE_PROVIDER=postgresql\nDATABASE_SAVE_DATA_INSTANCE=true\n", "not set"),
    ("DATABASE_CONNECTION_URI=not a uri\n", "not a scheme://"),
])
def test_database_findings(catalog: Catalog, tmp_path: Path, env_text: str, needle: str) -> None:
    result = run(catalog, tmp_path, env_text)["config.database"]
    assert result.status is Status.FAIL and needle in result.message, result.message


def test_database_localhost_in_container_names_the_database_service(catalog: Catalog, tmp_path: Path) -> None:
    env = f"DATABASE_CONNECTION_URI=postgresql://evo:{SECRET}@localhost:5432/evolution\n"
    result = run(catalog, tmp_path, env, with_compose="v2.3.6")["config.database"]
    assert result.status is Status.FAIL and "container" in result.message
    assert "@pg:5432/evolution" in text(result) and SECRET not in text(result)


def test_database_without_any_database_setting_skips_and_v1_skips(catalog: Catalog, tmp_path: Path) -> None:
    assert run(catalog, tmp_path, "SERVER_URL=http://evo:8080\n")["config.database"].status is Status.SKIP
    v1 = run(catalog, tmp_path, "DATABASE_ENABLED=true\n", with_compose="v1.8.2")["config.database"]
    assert v1.status is Status.SKIP and "MongoDB" in v1.message


# ------------------------------------------------------------------------------------------------ Redis


@pytest.mark.parametrize("env_text,status,needle", [
    ("CACHE_REDIS_ENABLED=True\nCACHE_REDIS_URI=redis://cache:6379\n", Status.FAIL, "read as false"),
    ("CACHE_REDIS_ENABLED=true\n", Status.FAIL, "CACHE_REDIS_URI is empty"),
    ("CACHE_REDIS_ENABLED=true\nCACHE_REDIS_URI=http://cache:6379\n", Status.FAIL, "not a redis://"),
    ("CACHE_REDIS_ENABLED=true\nCACHE_REDIS_URI=rediss://:pw@r.example.net:6379\n", Status.WARN, "swapped"),
    ("CACHE_REDIS_ENABLED=true\nCACHE_REDIS_URI=redis://:pw@r.example.net:6380\n", Status.WARN, "swapped"),
    ("REDIS_URL=redis://cache:6379\nCACHE_LOCAL_ENABLED=true\n", Status.FAIL, "REDIS_URL"),
    ("CACHE_REDIS_ENABLED=false\nCACHE_LOCAL_ENABLED=true\n", Status.PASS, "off"),
])
def test_redis_findings(catalog: Catalog, tmp_path: Path, env_text: str, status: Status, needle: str) -> None:
    result = run(catalog, tmp_path, env_text)["config.redis"]
    assert result.status is status and needle in result.message, result.message


def test_two_evolutions_sharing_redis_prefix_warn(catalog: Catalog, tmp_path: Path) -> None:
    shared = "CACHE_REDIS_ENABLED=true\nCACHE_REDIS_URI=redis://cache:6379/6\n"
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n"
        "  evo-a:\n    image: evoapicloud/evolution-api:v2.3.6\n    env_file: [a.env]\n"
        "  evo-b:\n    image: evoapicloud/evolution-api:v2.3.6\n    env_file: [b.env]\n"
        "  cache:\n    image: redis:7\n", encoding="utf-8")
    (tmp_path / "a.env").write_text(shared, encoding="utf-8")
    (tmp_path / "b.env").write_text(shared, encoding="utf-8")
    values = {"files.compose": [str(tmp_path / "docker-compose.yml")]}
    report = asyncio.run(Pipeline(catalog, Settings(values=values),
                                  RunOptions(timeout=2, only=("config.redis",))).run())
    result = next(r for r in report.results if r.id == "config.redis")
    assert result.status is Status.WARN and "evolution-cache" in result.message
    (tmp_path / "b.env").write_text(shared + "CACHE_REDIS_PREFIX_KEY=evo-b\n", encoding="utf-8")
    report = asyncio.run(Pipeline(catalog, Settings(values=values),
                                  RunOptions(timeout=2, only=("config.redis",))).run())
    assert next(r for r in report.results if r.id == "config.redis").status is Status.PASS


# ------------------------------------------------------------------------------------------------ RabbitMQ


@pytest.mark.parametrize("env_text,status,needle", [
    ("RABBITMQ_ENABLED=true\n", Status.FAIL, "RABBITMQ_URI is empty"),
    ("RABBITMQ_ENABLED=true\nRABBITMQ_URI=rabbitmq:5672\n", Status.FAIL, "not an amqp://"),
    ("RABBITMQ_ENABLED=1\nRABBITMQ_URI=amqp://broker\n", Status.FAIL, "read as false"),
    ("RABBITMQ_ENABLED=true\nRABBITMQ_URI=amqp://broker\nRABBITMQ_FRAME_MAX=4096\n", Status.WARN, "4.1+"),
    ("RABBITMQ_ENABLED=true\nRABBITMQ_URI=amqp://broker\nRABBITMQ_GLOBAL_ENABLED=true\n"
     "RABBITMQ_EVENTS_MESSAGES_UPSERT=false\n", Status.WARN, "No events"),
    ("RABBITMQ_ENABLED=false\nRABBITMQ_URI=amqp://localhost\n", Status.PASS, "off"),
])
def test_rabbitmq_findings(catalog: Catalog, tmp_path: Path, env_text: str, status: Status, needle: str) -> None:
    result = run(catalog, tmp_path, env_text)["config.rabbitmq"]
    assert result.status is status and needle in result.message, result.message


def test_rabbitmq_localhost_in_container(catalog: Catalog, tmp_path: Path) -> None:
    env = "RABBITMQ_ENABLED=true\nRABBITMQ_URI=amqp://guest:guestpw@localhost:5672\n"
    result = run(catalog, tmp_path, env, with_compose="v2.3.6")["config.rabbitmq"]
    assert result.status is Status.FAIL and "amqp://guest:***@broker:5672" in text(result)
    assert "guestpw" not in text(result)


# ------------------------------------------------------------------------------------------------ integrations


def test_integration_switch_written_true_capitalised_fails(catalog: Catalog, tmp_path: Path) -> None:
    result = run(catalog, tmp_path, "TYPEBOT_ENABLED=True\nDIFY_ENABLED=true\n")["config.integrations"]
    assert result.status is Status.FAIL and "TYPEBOT_ENABLED=True" in result.message


def test_integration_settings_without_switch_warn(catalog: Catalog, tmp_path: Path) -> None:
    result = run(catalog, tmp_path, "S3_ENDPOINT=minio\nS3_BUCKET=evolution\n")["config.integrations"]
    assert result.status is Status.WARN and "S3_ENABLED" in result.message


def test_integration_states_are_published_and_follow_the_release(catalog: Catalog, tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("DIFY_ENABLED=true\nN8N_ENABLED=true\n", encoding="utf-8")
    values = {"files.env": [str(env)], "files.compose": [str(compose(tmp_path, "v2.2.3"))]}
    pipeline = Pipeline(catalog, Settings(values=values), RunOptions(timeout=2, only=("config.integrations",)))
    report = asyncio.run(pipeline.run())
    result = next(r for r in report.results if r.id == "config.integrations")
    assert result.status is Status.PASS and "Dify" in result.message.split("off:")[0]
    assert "n8n" not in result.message  # 2.2.x has no N8N_ENABLED switch
    assert report.facts["config.integrations.enabled"]["Dify"] is True


# ------------------------------------------------------------------------------------------------ phone version


@pytest.mark.parametrize("tag,value,status,needle", [
    ("v2.3.0", "2.3000.1015901307", Status.FAIL, "older than the 2.3000.1023204200"),
    ("v2.3.6", "2.3000.1027934701", Status.WARN, "does not read it (removed in 2.3.1)"),
    ("v1.7.4", "2.3000.1027934701", Status.WARN, "does not read it (first read in 1.8.0)"),
    ("v2.2.3", "2.3000.1015901307", Status.WARN, "likely stale"),
    ("latest", "2.3000.1029560485", Status.PASS, "not older"),
    ("latest", "2,3000,1015901307", Status.FAIL, "not a version"),
])
def test_phone_version(catalog: Catalog, tmp_path: Path, tag: str, value: str, status: Status, needle: str) -> None:
    env = f"CONFIG_SESSION_PHONE_VERSION={value}\n"
    result = run(catalog, tmp_path, env, with_compose=tag)["config.phone_version"]
    assert result.status is status and needle in result.message, result.message


def test_phone_version_unset_passes(catalog: Catalog, tmp_path: Path) -> None:
    assert run(catalog, tmp_path, "SERVER_URL=http://evo:8080\n")["config.phone_version"].status is Status.PASS


@pytest.mark.parametrize("env_text,check", [
    (f"DATABASE_CONNECTION_URI=evo:{SECRET}@pg:5432/evolution\n", "config.database"),
    (f"CACHE_REDIS_ENABLED=true\nCACHE_REDIS_URI=default:{SECRET}@cache:6379\n", "config.redis"),
    (f"RABBITMQ_ENABLED=true\nRABBITMQ_URI=evo:{SECRET}@broker:5672\n", "config.rabbitmq"),
])
def test_a_broken_uri_never_shows_its_password(catalog: Catalog, tmp_path: Path, env_text: str, check: str) -> None:
    result = run(catalog, tmp_path, env_text)[check]
    assert result.status is Status.FAIL and "***@" in result.message, result.message
    assert SECRET not in text(result)


def test_a_container_without_redis_settings_gets_the_images_localhost_default(catalog: Catalog,
                                                                              tmp_path: Path) -> None:
    result = run(catalog, tmp_path, "SERVER_URL=http://evolution-api:8080\n", with_compose="v2.3.6")["config.redis"]
    assert result.status is Status.FAIL and "built-in .env" in result.message
    assert "redis://cache:6379/6" in text(result)  # the compose Redis service, by its image
    off = "SERVER_URL=http://evolution-api:8080\nCACHE_REDIS_ENABLED=false\nCACHE_LOCAL_ENABLED=true\n"
    assert run(catalog, tmp_path, off, with_compose="v2.3.6")["config.redis"].status is Status.PASS
    assert run(catalog, tmp_path, "SERVER_URL=http://evo:8080\n")["config.redis"].status is Status.PASS  # no image


def test_a_2_2_container_without_phone_version_gets_the_images_pinned_one(catalog: Catalog, tmp_path: Path) -> None:
    result = run(catalog, tmp_path, "SERVER_URL=http://evo:8080\n", with_compose="v2.2.3")["config.phone_version"]
    assert result.status is Status.WARN and "2.3000.1015901307" in result.message
    newer = run(catalog, tmp_path, "SERVER_URL=http://evo:8080\n", with_compose="v2.3.6")["config.phone_version"]
    assert newer.status is Status.PASS


@pytest.mark.parametrize("check_id", [*IDS, "network.services"])
def test_explain_documents_every_new_check(check_id: str) -> None:
    from typer.testing import CliRunner

    from evodiag.cli import app

    out = CliRunner().invoke(app, ["explain", check_id])
    assert out.exit_code == 0, out.output
    for part in ("What it checks:", "Why it matters:", "Example:", "fix:"):
        assert part in out.output, part
    # An upstream link: Evolution's source (EvolutionAPI/evolution-api) or its issues (evolution-foundation).
    assert re.search(r"github\.com/(?:EvolutionAPI|evolution-foundation)/evolution-api/", out.output), out.output
    if check_id != "config.integrations":
        assert "Triage signatures" in out.output
