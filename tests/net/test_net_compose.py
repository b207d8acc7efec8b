"""docker-compose reading: services, list/map environment, env_file precedence, origins, identification."""

from __future__ import annotations

from pathlib import Path

import pytest

from evodiag.envfiles import ComposeError, EnvFileError, Product, parse_compose


@pytest.fixture
def compose(fixtures: Path):
    return parse_compose(fixtures / "compose" / "docker-compose.yml", environ={"WEBHOOK_GLOBAL_ENABLED": "true"})


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return n
    raise AssertionError(needle)


def test_services_and_identification(compose) -> None:
    assert list(compose.services) == ["evolution_api", "chatwoot", "sidekiq", "openim", "unknown_api", "postgres"]
    evo = compose.services["evolution_api"]
    assert evo.product is Product.EVOLUTION and evo.product_reason.startswith("image ")
    assert evo.image == "atendai/evolution-api:v2.3.6"  # ${EVO_TAG} from the project .env
    assert evo.version == "2.3.6"
    assert compose.services["chatwoot"].product is Product.CHATWOOT
    assert compose.services["sidekiq"].product is Product.CHATWOOT
    assert compose.services["openim"].version == "3.8.1"
    unknown = compose.services["unknown_api"]
    assert unknown.product is Product.EVOLUTION  # identified by its environment, not its image
    assert "AUTHENTICATION_API_KEY" in unknown.product_reason
    assert compose.services["postgres"].product is None
    # the primary Chatwoot service is the web one, not the sidekiq worker
    assert compose.chatwoot.name == "chatwoot"
    assert compose.evolution.name == "evolution_api"
    assert compose.openim.name == "openim"
    assert [s.name for s in compose.by_product("chatwoot")] == ["chatwoot", "sidekiq"]


def test_env_file_precedence_and_origins(compose, fixtures: Path) -> None:
    evo = compose.services["evolution_api"]
    yml = fixtures / "compose" / "docker-compose.yml"
    # environment: wins over env_file, and points at the compose line
    assert evo.value("SERVER_URL") == "https://evo.example.com"
    assert evo.get("SERVER_URL").origin == f"{yml}:{_line_of(yml, '- SERVER_URL=')}"
    assert evo.get("SERVER_URL").template == "https://${PUBLIC_HOST}"
    assert evo.value("AUTHENTICATION_API_KEY") == "from-project-env"
    # the later env_file wins over the earlier one
    assert evo.value("LOG_LEVEL") == "DEBUG"
    assert evo.get("LOG_LEVEL").origin == f"{fixtures / 'compose' / 'evolution-override.env'}:1"
    # untouched env_file values keep their own file:line
    assert evo.get("CHATWOOT_ENABLED").origin == f"{fixtures / 'compose' / 'evolution.env'}:3"
    assert evo.get("CHATWOOT_ENABLED").source == "dotenv"
    assert evo.get("DEL_INSTANCE").source == "environment"
    assert [r.declared for r in evo.env_files] == ["evolution.env", "evolution-override.env"]


def test_list_environment_forms(compose) -> None:
    evo = compose.services["evolution_api"]
    inherited = evo.get("WEBHOOK_GLOBAL_ENABLED")
    assert inherited.inherited and inherited.value == "true"  # '- KEY' from the shell (environ)
    assert evo.value("PASSWORD_WITH_DOLLAR") == "ab$cd"  # $$ is a literal $
    assert evo.value("TYPO_VAR") == ""
    unset = [p for p in compose.problems if p.code == "unset-variable"]
    assert len(unset) == 1 and "NOT_SET_ANYWHERE" in unset[0].message


def test_map_environment_keeps_yaml_text(compose) -> None:
    cw = compose.services["chatwoot"]
    assert cw.value("ENABLE_ACCOUNT_SIGNUP") == "false"
    assert cw.value("RAILS_MAX_THREADS") == "5"
    assert cw.value("FORCE_SSL") == "true"  # True → "true"
    assert cw.value("LOG_WORD") == "yes"  # YAML 1.2, as compose: not a bool
    assert cw.value("QUOTED") == "quoted value" and cw.get("QUOTED").quote == '"'
    # map entry overrides the env_file (FRONTEND_URL=http://0.0.0.0:3000 in chatwoot.env)
    assert cw.value("FRONTEND_URL") == "https://chat.example.com"
    assert compose.services["sidekiq"].value("FRONTEND_URL") == "http://0.0.0.0:3000"
    # a null value means "from the shell": unknown here, so it is a passthrough, not a value
    assert "INHERITED_NULL" not in cw.environment
    assert cw.passthrough["INHERITED_NULL"].line > 0


def test_env_file_mapping_forms(compose) -> None:
    refs = compose.services["chatwoot"].env_files
    assert [(r.declared, r.required, r.found) for r in refs] == [
        ("./chatwoot.env", True, True),
        ("./missing-optional.env", False, False),
    ]
    assert not [p for p in compose.problems if p.code == "env-file-missing"]


def test_ports_networks_hostnames(compose) -> None:
    evo = compose.services["evolution_api"]
    assert [(p.host_ip, p.published, p.target, p.protocol) for p in evo.ports] == [
        (None, "8080", "8080", "tcp"),
        ("127.0.0.1", "9090", "9090", "udp"),
    ]
    assert evo.networks == ["internal", "public"]
    assert evo.aliases == ["evo"]
    cw = compose.services["chatwoot"]
    assert [(p.host_ip, p.published, p.target) for p in cw.ports] == [("127.0.0.1", "3000", "3000")]
    assert cw.networks == ["internal"]  # from the YAML anchor / merge key
    assert compose.networks == ["internal", "public"]
    assert {"evolution_api", "evo", "chatwoot", "sidekiq"} <= compose.internal_hostnames()


def test_missing_required_env_file_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text(
        "services:\n  evo:\n    image: evoapicloud/evolution-api:v2.3.6\n    env_file: gone.env\n"
        "    environment:\n      SERVER_URL: http://evo:8080\n"
    )
    c = parse_compose(tmp_path / "compose.yml")
    assert [(p.line, p.code) for p in c.problems] == [(4, "env-file-missing")]
    assert c.evolution.value("SERVER_URL") == "http://evo:8080"


def test_env_file_problems_are_collected(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("GOOD=1\nnot a var\n")
    (tmp_path / "compose.yml").write_text("services:\n  app:\n    image: x\n    env_file: [app.env]\n")
    c = parse_compose(tmp_path / "compose.yml")
    assert [(Path(p.file).name, p.line, p.code) for p in c.problems] == [("app.env", 2, "no-equals")]
    assert c.services["app"].value("GOOD") == "1"


def test_malformed_yaml_raises_with_line(fixtures: Path) -> None:
    with pytest.raises(ComposeError) as err:
        parse_compose(fixtures / "compose" / "bad.yml")
    assert err.value.line == 6
    assert str(err.value).startswith(f"{fixtures / 'compose' / 'bad.yml'}:6: invalid YAML")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("- a\n- b\n", "top level must be a mapping"), ("version: '3'\n", "no 'services:'"), ("", "empty file")],
)
def test_not_a_compose_document(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "c.yml").write_text(text)
    with pytest.raises(ComposeError, match=message):
        parse_compose(tmp_path / "c.yml")


def test_missing_compose_file(tmp_path: Path) -> None:
    with pytest.raises(EnvFileError, match="file not found"):
        parse_compose(tmp_path / "docker-compose.yml")
