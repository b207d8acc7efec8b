"""The real log lines of issue 13's backing-service threads are diagnosed as the right check (top 1) by triage
against the shipped catalog. Each line is quoted from the thread named next to it (timestamps and hosts as there;
secrets replaced)."""

from __future__ import annotations

import io

import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.triage import triage_stream

LINES = [
    # evo#1856 (2.3.1), repeated every half second
    ("[Evolution API]    v2.3.1  192   -  Wed Aug 20 2025 13:39:45     ERROR   [Redis]  [string]  redis disconnected ",
     "config.redis"),
    # evo#2074 (2.2.3, Docker), prefixed by compose
    ("evolution-api  | [Evolution API]  [Md. Hasibur Rahman]  v2.2.3  295   -  Sun Oct 12 2025 03:33:33     ERROR   "
     "[Redis]  [string]  redis disconnected", "config.redis"),
    # evo#2271 (2.3.6): the .env posted
    ("REDIS_URI=redis://redis:6379", "config.redis"),
    # .env.example at 2.3.6, line 350, used inside Docker
    ("CACHE_REDIS_URI=redis://localhost:6379/6", "config.redis"),
    # evo#2381 / evo#2050
    ("Error: P1001: Can't reach database server at `postgres:5432`", "config.database"),
    # evo#1087 (2.2.0)
    ("Please make sure your database server is running at `localhost:5432`.\n"
     "Error: P1001: Can't reach database server at `localhost:5432`", "config.database"),
    # evo#2381: Prisma's name instead of Evolution's
    ("DATABASE_URL=postgresql://evolution:password@postgres:5432/evolution", "config.database"),
    # Docker/scripts/deploy_database.sh#L30 at 2.3.6 with DATABASE_PROVIDER unset (evo#974)
    ("Error: Database provider  invalid.", "config.database"),
    # rabbitmq.controller.ts#L50-L54 at 2.3.6, printed by the logger as an object
    ("[Evolution API]    v2.3.6  1   -  Tue Nov 04 2025 10:00:00     ERROR   [RabbitmqController]  [object]\n"
     "{\n  local: 'RabbitmqController.connect',\n  message: 'Failed to connect to RabbitMQ',\n"
     "  error: 'connect ECONNREFUSED 127.0.0.1:5672'\n}", "config.rabbitmq"),
    # evo#389 / evo#437 (1.5.4-1.6.1)
    ('{ "status": 500, "error": "Internal Server Error", "response": { "message": '
     "\"Cannot read properties of null (reading 'assertExchange')\" } }", "config.rabbitmq"),
    # evo#2074 (2.2.3): the pinned version in use
    ("evolution-api  | [Evolution API]  [x]  v2.2.3  295   -  Sun Oct 12 2025 03:33:33     INFO   "
     "[ChannelStartupService]  [string]  Baileys version env: 2,3000,1015901307 ", "config.phone_version"),
    # evo#1014 / evo#2201: the line people paste
    ("CONFIG_SESSION_PHONE_VERSION=2.3000.1015901307", "config.phone_version"),
    # an integration switch written the way it is read as false
    ("TYPEBOT_ENABLED=True", "config.integrations"),
]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize("text,expected", LINES, ids=[f"{e}-{i}" for i, (_, e) in enumerate(LINES)])
def test_real_line_is_diagnosed_as_its_check(catalog, text: str, expected: str) -> None:
    result = triage_stream(io.BytesIO(text.encode()), catalog)
    assert result.diagnoses, "no diagnosis"
    assert result.diagnoses[0].id == expected, [(d.id, round(d.confidence, 2)) for d in result.diagnoses[:3]]


def test_redis_settings_right_are_not_diagnosed(catalog) -> None:
    """CACHE_REDIS_URI on a service name is the fix, not the fault; REDIS_URI inside it is not a wrong name."""
    result = triage_stream(io.BytesIO(b"CACHE_REDIS_URI=redis://redis:6379/6\nCACHE_REDIS_ENABLED=true\n"), catalog)
    assert "config.redis" not in [d.id for d in result.diagnoses]


def test_switches_written_true_are_not_diagnosed(catalog) -> None:
    """Signatures match case-insensitively: the not-true switch pattern must still leave a correct `true` alone."""
    text = b"S3_ENABLED=true\nTYPEBOT_ENABLED=true\nDIFY_ENABLED: 'true'\n"
    assert "config.integrations" not in [d.id for d in triage_stream(io.BytesIO(text), catalog).diagnoses]
