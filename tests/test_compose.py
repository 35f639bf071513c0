"""The compose topology (docker-compose.yml, Dockerfile, .env.example), checked without a
Docker engine: against the Compose specification's schema, against the application's own
settings and imports, and for agreement between the services' addresses and listeners.

The file is read the way `docker compose` reads it: YAML, then variables interpolated from the
operator's .env (here .env.example with the two passwords an operator must add).
"""

from __future__ import annotations

import ast
import functools
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Neither ships type information (and the lock has no stubs for them).
import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema  # type: ignore[import-untyped]
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from codec.keyring import create_keyring
from deploy.temporal_setup import set_up
from settings import ENV_NAMES, Settings, load_settings
from workflows import search_attributes

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SECRETS_DIR = ROOT / "deploy" / "secrets"

# What an operator adds to their copy of .env.example before `docker compose up`.
OPERATOR_SECRETS = {"TEMPORAL_DB_PASSWORD": "t-secret-1", "APP_DB_PASSWORD": "a-secret-2"}

# Which program of the application image reads which setting. A setting of settings.py that is
# neither here nor in EXEMPT fails test_every_setting_is_classified: deciding where it goes in
# docker-compose.yml is part of adding it.
WORKER = "worker.py"
CODEC_SERVER = "codec.server"
MIGRATE = "db.migrate"
TEMPORAL_SETUP = "deploy.temporal_setup"
_TEMPORAL_CLIENTS = frozenset({WORKER, TEMPORAL_SETUP})
READERS: dict[str, frozenset[str]] = {
    "TEMPORAL_ADDRESS": _TEMPORAL_CLIENTS,
    "TEMPORAL_NAMESPACE": _TEMPORAL_CLIENTS,
    "TEMPORAL_TLS_CA_FILE": _TEMPORAL_CLIENTS,
    "TEMPORAL_TLS_CERT_FILE": _TEMPORAL_CLIENTS,
    "TEMPORAL_TLS_KEY_FILE": _TEMPORAL_CLIENTS,
    "TEMPORAL_TLS_SERVER_NAME": _TEMPORAL_CLIENTS,
    # Every Temporal client reads the ring (the data converter), and so does the codec server.
    "INKANTELING_CODEC_KEY_FILE": _TEMPORAL_CLIENTS | {CODEC_SERVER},
    "INKANTELING_TASK_QUEUE": frozenset({WORKER}),
    "DATABASE_URL": frozenset({WORKER, MIGRATE}),
    "INKANTELING_LOG_LEVEL": frozenset({WORKER, CODEC_SERVER, MIGRATE, TEMPORAL_SETUP}),
    "INKANTELING_LOG_FORMAT": frozenset({WORKER, CODEC_SERVER, MIGRATE, TEMPORAL_SETUP}),
    "INKANTELING_CODEC_TOKEN_FILE": frozenset({CODEC_SERVER}),
    "INKANTELING_CODEC_PORT": frozenset({CODEC_SERVER}),
    "INKANTELING_CODEC_ALLOWED_ORIGIN": frozenset({CODEC_SERVER}),
    "INKANTELING_METRICS_PORT": frozenset({WORKER}),
    "INKANTELING_METRICS_REFRESH_SECONDS": frozenset({WORKER}),
}
# Settings no compose service needs, each with the reason.
EXEMPT: dict[str, str] = {
    # The local dev server's Web UI port; compose runs the Web UI as a service of its own.
    "INKANTELING_UI_PORT": "local stack only",
    # The port of the embedded PostgreSQL the local stack runs when DATABASE_URL is unset.
    "INKANTELING_PG_PORT": "local stack only",
    # The local stack's state folder; in compose every file a program reads has its own
    # setting (key ring, token) and the databases are services.
    "INKANTELING_DATA_DIR": "local stack only",
}

# Where each image listens when its environment does not say otherwise.
_DEFAULT_LISTENERS = {"postgres": 5432, "temporalio/ui": 8080, "prom/prometheus": 9090}


# --- reading the files the way compose does ------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(ValueError):
    """A `${NAME:?message}` whose variable the operator did not set."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable syntax: $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default},
    ${NAME:?error}, ${NAME?error}, ${NAME:+replacement}, ${NAME+replacement}."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["plain"]
        op, arg = match["op"] or "", match["arg"] or ""
        value = env.get(name)
        # With ":" an empty value counts as unset, as in the shell.
        present = bool(value) if op.startswith(":") else value is not None
        if op.endswith("-"):
            return value if present and value is not None else arg
        if op.endswith("?"):
            if not present or value is None:
                raise MissingVariable(f"{name}: {arg}")
            return value
        if op.endswith("+"):
            return arg if present else ""
        return value or ""

    return _VARIABLE.sub(replace, text)


def interpolated(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolated(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolated(value, env) for key, value in node.items()}
    return node


def variables_used(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        for match in _VARIABLE.finditer(node):
            if not match["escaped"]:
                yield match["braced"] or match["plain"]
    elif isinstance(node, list):
        for item in node:
            yield from variables_used(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from variables_used(value)


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, value = line.partition("=")
        assert separator, f"{path.name}: not NAME=value: {line!r}"
        values[name.strip()] = value.strip()
    return values


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any], example_env: dict[str, str]) -> dict[str, Any]:
    """The file as compose runs it for an operator who followed the instructions."""
    result = interpolated(raw, {**example_env, **OPERATOR_SECRETS})
    assert isinstance(result, dict)
    return result


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def command(service: Mapping[str, Any]) -> list[str]:
    value = service.get("command", [])
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def program(service: Mapping[str, Any]) -> str | None:
    """The application program a service of the app image runs (None for other images)."""
    if "build" not in service:
        return None
    argv = command(service)
    assert argv[:1] == ["python"], f"an application service runs python: {argv}"
    return argv[2] if argv[1:2] == ["-m"] else argv[1]


def app_services(services: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in services.items() if program(svc) is not None}


def image_name(service: Mapping[str, Any]) -> str:
    reference = str(service["image"])
    return reference.rsplit(":", 1)[0] if ":" in reference.rsplit("/", 1)[-1] else reference


@dataclass(frozen=True)
class Published:
    host_ip: str
    host_port: int
    container_port: int


def published(service: Mapping[str, Any]) -> list[Published]:
    ports = []
    for entry in service.get("ports", []):
        parts = str(entry).split(":")
        if len(parts) == 3:
            ports.append(Published(parts[0], int(parts[1]), int(parts[2])))
        elif len(parts) == 2:
            ports.append(Published("0.0.0.0", int(parts[0]), int(parts[1])))
        else:
            pytest.fail(f"give published ports as [ip:]host:container, not {entry!r}")
    return ports


def exposed(service: Mapping[str, Any]) -> set[int]:
    return {int(port) for port in service.get("expose", [])}


def depends_closure(services: Mapping[str, dict[str, Any]], name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for dependency in services[todo.pop()].get("depends_on", {}):
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen


def test_interpolation_follows_compose() -> None:
    env = {"SET": "v", "EMPTY": ""}
    cases = {
        "${SET}": "v",
        "$SET/x": "v/x",
        "${UNSET}": "",
        "${EMPTY:-d}": "d",
        "${EMPTY-d}": "",
        "${UNSET-d}": "d",
        "${SET:+r}": "r",
        "${EMPTY:+r}": "",
        "${EMPTY+r}": "r",
        "$$SET": "$SET",
        "a${SET:?needed}b": "avb",
    }
    assert {text: interpolate(text, env) for text in cases} == cases
    for refused in ("${EMPTY:?needed}", "${UNSET?needed}"):
        with pytest.raises(MissingVariable, match="needed"):
            interpolate(refused, env)
    assert interpolate("${EMPTY?fine}", env) == ""


# --- the Compose specification -------------------------------------------------------------------


@functools.cache
def _compose_spec_validator() -> Any:
    """The Compose specification's JSON schema as check-jsonschema vendors it."""
    schema = get_builtin_schema("vendor.compose-spec")
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def _schema_errors(document: Mapping[str, Any]) -> list[str]:
    validator = _compose_spec_validator()
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_the_file_validates_against_the_compose_specification(
    raw: dict[str, Any], compose: dict[str, Any]
) -> None:
    # As written (variables unresolved) and as compose runs it (interpolated).
    assert _schema_errors(raw) == []
    assert _schema_errors(compose) == []


def test_the_tls_override_in_the_docs_is_a_valid_overlay(services: dict[str, Any]) -> None:
    text = (ROOT / "docs" / "deployment.md").read_text()
    (block,) = re.findall(r"```yaml\n(# compose\.tls\.yml.*?)```", text, flags=re.DOTALL)
    override = yaml.safe_load(block)
    assert _schema_errors(override) == []
    assert set(override["services"]) <= set(services)
    for name, service in override["services"].items():
        assert set(service.get("secrets", [])) <= set(override["secrets"]) | {"codec_keyring"}, name


def test_the_schema_check_catches_a_malformed_service() -> None:
    broken = {"services": {"worker": {"image": "x:1", "deploy": {"replicas": [3]}}}}
    assert any("replicas" in problem for problem in _schema_errors(broken))


def test_compose_refuses_to_start_without_the_operators_passwords(
    raw: dict[str, Any], example_env: dict[str, str]
) -> None:
    missing = set()
    for name in OPERATOR_SECRETS:
        env = {**example_env, **OPERATOR_SECRETS}
        del env[name]
        with pytest.raises(MissingVariable) as refused:
            interpolated(raw, env)
        missing.add(str(refused.value).split(":")[0])
    assert missing == set(OPERATOR_SECRETS)


def test_every_variable_is_in_env_example_and_every_example_is_used(
    raw: dict[str, Any], example_env: dict[str, str]
) -> None:
    used = set(variables_used(raw))
    assert sorted(used - set(example_env)) == []
    assert sorted(set(example_env) - used) == []


def test_env_example_holds_no_secret_values(example_env: dict[str, str]) -> None:
    secret_like = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE|KEY")
    for name, value in example_env.items():
        assert "-----BEGIN" not in value, f"{name}: key material belongs in deploy/secrets/"
        # A *_FILE setting names a path (under /run/secrets), never the secret itself.
        if secret_like.search(name) and not name.endswith("_FILE"):
            assert value == "", f"{name} must be empty in .env.example; operators set it in .env"
    assert set(OPERATOR_SECRETS) <= set(example_env)


# --- images, builds, secrets ---------------------------------------------------------------------


def test_every_build_exists_and_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        build = service.get("build")
        if build is not None:
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            assert context.is_dir(), f"{name}: build context {context} is missing"
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
            assert (context / (dockerfile or "Dockerfile")).is_file(), name
        assert "image" in service, f"{name}: name the image (and its tag) it runs"
        reference = str(service["image"])
        assert "@sha256:" in reference or ":" in reference.rsplit("/", 1)[-1], (
            f"{name}: {reference} has no tag"
        )
        assert not reference.endswith(":latest"), f"{name}: {reference} is not pinned"


def test_the_schema_tool_is_the_servers_release(services: dict[str, dict[str, Any]]) -> None:
    # temporal-sql-tool's schema versions belong to one server release.
    tag = {name: str(svc["image"]).rsplit(":", 1)[1] for name, svc in services.items()}
    assert image_name(services["temporal-schema"]) == "temporalio/admin-tools"
    assert image_name(services["temporal"]) == "temporalio/server"
    assert tag["temporal-schema"] == tag["temporal"]


def test_mounted_files_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"


def test_secrets_live_in_an_ignored_folder_and_go_only_where_they_are_read(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    ignored = (SECRETS_DIR / ".gitignore").read_text().splitlines()
    assert "*" in ignored
    for secret, spec in compose["secrets"].items():
        path = (ROOT / spec["file"]).resolve()
        assert path.parent == SECRETS_DIR, f"secret {secret} must live in deploy/secrets/"
    for name, service in services.items():
        mounted = set(service.get("secrets", []))
        assert mounted <= set(compose["secrets"]), name
        referenced = {
            match
            for value in environment(service).values()
            for match in re.findall(r"/run/secrets/([A-Za-z0-9_.-]+)", value)
        }
        assert mounted == referenced, f"{name}: mounts {mounted}, its settings read {referenced}"


# --- settings ------------------------------------------------------------------------------------


def test_every_setting_is_classified() -> None:
    assert set(ENV_NAMES) == set(Settings.model_fields), "every field needs its variable"
    names = set(ENV_NAMES.values())
    assert sorted(names - set(READERS) - set(EXEMPT)) == [], (
        "a new setting: say in READERS which programs read it (and add it to "
        "docker-compose.yml), or in EXEMPT why no compose service needs it"
    )
    assert sorted((set(READERS) | set(EXEMPT)) - names) == []
    assert set(READERS).isdisjoint(EXEMPT)


def test_every_setting_reaches_the_services_that_read_it(
    services: dict[str, dict[str, Any]],
) -> None:
    programs_in_compose: set[str] = set()
    for name, service in app_services(services).items():
        runs = program(service)
        assert runs is not None
        programs_in_compose.add(runs)
        env = environment(service)
        wanted = {setting for setting, readers in READERS.items() if runs in readers}
        assert sorted(wanted - set(env)) == [], f"{name} ({runs}) lacks these settings"
        # And what it gets is a configuration the program accepts.
        load_settings({key: value for key, value in env.items() if key in ENV_NAMES.values()})
    assert programs_in_compose == {p for readers in READERS.values() for p in readers}


def test_the_worker_runs_as_several_replicas(services: dict[str, dict[str, Any]]) -> None:
    assert int(services["worker"]["deploy"]["replicas"]) >= 2
    # Replicas cannot share a host port.
    assert published(services["worker"]) == []


def test_long_running_services_restart_and_have_health_checks(
    services: dict[str, dict[str, Any]],
) -> None:
    one_shot = {"temporal-schema", "temporal-setup", "migrations"}
    for name, service in services.items():
        restart = service.get("restart", "no")
        if name in one_shot:
            assert restart.startswith("on-failure"), name
        else:
            assert restart in ("always", "unless-stopped"), name
            # Nothing waits for the Web UI, and its image's tools differ between releases.
            if name != "temporal-ui":
                assert "healthcheck" in service, name


def test_one_shot_jobs_complete_before_what_needs_them(
    services: dict[str, dict[str, Any]],
) -> None:
    def condition(service: str, on: str) -> str:
        return str(services[service]["depends_on"][on]["condition"])

    assert condition("temporal", "temporal-schema") == "service_completed_successfully"
    assert condition("worker", "temporal-setup") == "service_completed_successfully"
    assert condition("worker", "migrations") == "service_completed_successfully"
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if "healthcheck" in services[dependency]:
                assert spec["condition"] in (
                    "service_healthy",
                    "service_completed_successfully",
                ), f"{name} should wait for {dependency} to be healthy"


def test_named_volumes_keep_the_databases(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    for name, data_dir in (("temporal-db", "/var/lib/postgresql/data"), ("app-db", None)):
        volumes = [str(v).split(":") for v in services[name]["volumes"]]
        named = [parts for parts in volumes if not parts[0].startswith((".", "/"))]
        assert len(named) == 1, name
        assert named[0][0] in compose["volumes"], name
        # PostgreSQL 18's image keeps its data under /var/lib/postgresql/<major>/.
        major = int(str(services[name]["image"]).split(":")[1].split(".")[0])
        assert named[0][1] == (data_dir if major < 18 else "/var/lib/postgresql"), name


# --- addresses and listeners ---------------------------------------------------------------------


def listeners(service: Mapping[str, Any]) -> set[int]:
    """The ports a service's own configuration makes it listen on."""
    env = environment(service)
    runs = program(service)
    if runs == CODEC_SERVER:
        return {int(env["INKANTELING_CODEC_PORT"])}
    if runs == WORKER:
        return {int(env["INKANTELING_METRICS_PORT"])}
    if runs is not None:
        return set()
    image = image_name(service)
    if image == "temporalio/server":
        return {
            int(env.get("FRONTEND_GRPC_PORT", "7233")),
            int(env["PROMETHEUS_ENDPOINT"].rsplit(":")[1]),
        }
    if image == "temporalio/ui":
        return {int(env.get("TEMPORAL_UI_PORT", _DEFAULT_LISTENERS[image]))}
    if image == "postgres":
        return {int(env.get("PGPORT", _DEFAULT_LISTENERS[image]))}
    if image == "prom/prometheus":
        return {_DEFAULT_LISTENERS[image]}
    return set()


def test_exposed_ports_are_the_ports_each_service_listens_on(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        assert exposed(service) == listeners(service), name
        for port in published(service):
            assert port.container_port in listeners(service), name
            # The Web UI has no login; nothing is published beyond this host.
            assert port.host_ip == "127.0.0.1", name


def test_health_checks_probe_the_port_the_service_listens_on(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if "healthcheck" not in service:
            continue
        probe = " ".join(map(str, service["healthcheck"]["test"]))
        ports = {int(port) for port in re.findall(r"(?<![\d.])(\d{4,5})(?![\d.])", probe)}
        assert ports and ports <= listeners(service), f"{name}: {probe}"


def _target(services: Mapping[str, dict[str, Any]], client: str, host: str, port: int) -> str:
    assert host in services, f"{client} addresses {host}, which is no service"
    assert port in exposed(services[host]), f"{client} addresses {host}:{port}, not a listener"
    assert host in depends_closure(services, client), f"{client} may start before {host}"
    return host


def test_every_address_names_a_service_and_a_port_it_listens_on(
    services: dict[str, dict[str, Any]],
) -> None:
    addressed: set[tuple[str, str]] = set()
    for name, service in services.items():
        env = environment(service)
        if "TEMPORAL_ADDRESS" in env:
            host, port = env["TEMPORAL_ADDRESS"].rsplit(":", 1)
            addressed.add((name, _target(services, name, host, int(port))))
        if "DATABASE_URL" in env:
            url = urlsplit(env["DATABASE_URL"])
            assert url.hostname is not None and url.port is not None, name
            server_env = environment(services[_target(services, name, url.hostname, url.port)])
            assert url.username == server_env["POSTGRES_USER"], name
            assert url.password == server_env["POSTGRES_PASSWORD"], name
            assert url.path.lstrip("/") == server_env["POSTGRES_DB"], name
            addressed.add((name, url.hostname))
        if "POSTGRES_SEEDS" in env:  # the Temporal server's persistence
            server = _target(services, name, env["POSTGRES_SEEDS"], int(env["DB_PORT"]))
            assert env["POSTGRES_USER"] == environment(services[server])["POSTGRES_USER"]
            assert env["POSTGRES_PWD"] == environment(services[server])["POSTGRES_PASSWORD"]
            addressed.add((name, server))
        if "SQL_HOST" in env:  # temporal-sql-tool
            server = _target(services, name, env["SQL_HOST"], int(env["SQL_PORT"]))
            assert env["SQL_USER"] == environment(services[server])["POSTGRES_USER"]
            assert env["SQL_PASSWORD"] == environment(services[server])["POSTGRES_PASSWORD"]
            addressed.add((name, server))
    assert {
        ("worker", "temporal"),
        ("worker", "app-db"),
        ("migrations", "app-db"),
        ("temporal-setup", "temporal"),
        ("temporal-ui", "temporal"),
        ("temporal", "temporal-db"),
        ("temporal-schema", "temporal-db"),
    } <= addressed


def test_prometheus_scrapes_what_the_services_serve(services: dict[str, dict[str, Any]]) -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets: dict[str, tuple[str, int]] = {}
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                targets[job["job_name"]] = (host, int(port))
        for dns in job.get("dns_sd_configs", []):
            for name in dns["names"]:
                targets[job["job_name"]] = (name, int(dns["port"]))
    assert {host for host, _ in targets.values()} == {"worker", "temporal"}
    for job, (host, port) in targets.items():
        assert port in listeners(services[host]), f"{job} scrapes {host}:{port}"
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    # Every scraped job has an alert on its target being down, and no alert names another.
    assert {job for expr in expressions for job in re.findall(r'job="([^"]+)"', expr)} == set(
        targets
    )


def _published_origin(service: Mapping[str, Any], port: int) -> str:
    """The URL a browser on the host uses for a container port of `service`."""
    (host_port,) = [p.host_port for p in published(service) if p.container_port == port]
    return f"http://localhost:{host_port}"


def test_the_browser_reaches_the_codec_server_and_it_answers_the_web_uis_origin(
    services: dict[str, dict[str, Any]],
) -> None:
    ui, codec = services["temporal-ui"], services["codec-server"]
    ui_origin = _published_origin(ui, int(environment(ui)["TEMPORAL_UI_PORT"]))
    codec_origin = _published_origin(codec, int(environment(codec)["INKANTELING_CODEC_PORT"]))
    # The Web UI's page calls the codec endpoint from the browser, so it names the host port.
    assert environment(ui)["TEMPORAL_CODEC_ENDPOINT"].rstrip("/") == codec_origin
    assert environment(codec)["INKANTELING_CODEC_ALLOWED_ORIGIN"] == ui_origin
    assert ui_origin in environment(ui)["TEMPORAL_CORS_ORIGINS"].split(",")


# --- the Dockerfile ------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def test_the_dockerfile_installs_exactly_the_lock_with_hashes() -> None:
    instructions = dockerfile_instructions()
    installs = [args for keyword, args in instructions if keyword == "RUN" and "pip" in args]
    assert len(installs) == 1, "one pip command, the locked install"
    argv = shlex.split(installs[0])
    assert argv[:2] == ["pip", "install"]
    assert sorted(argv[2:]) == sorted(["--require-hashes", "--no-deps", "-r", "requirements.lock"])
    copies = [args.split() for keyword, args in instructions if keyword == "COPY"]
    assert ["requirements.lock", "./"] in copies


def test_the_image_is_pinned_and_runs_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    bases = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(bases) == 1
    image = bases[0].split()[0]
    tag = image.rsplit(":", 1)[1] if ":" in image else ""
    assert re.fullmatch(r"3\.11\.\d+-slim-[a-z]+", tag), f"pin a Python 3.11 patch release: {image}"
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def _copied_paths() -> set[str]:
    copied: set[str] = set()
    for keyword, args in dockerfile_instructions():
        if keyword == "COPY":
            *sources, _destination = [part for part in args.split() if not part.startswith("--")]
            for source in sources:
                matches = list(ROOT.glob(source.rstrip("/")))
                assert matches, f"COPY {source}: nothing in the build context"
                copied.update(str(m.relative_to(ROOT)) for m in matches)
    return copied


def _first_party_imports(modules: list[str]) -> set[str]:
    """`modules` and every first-party module they import, transitively (read, not run)."""
    first_party = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} | {
        p.stem for p in ROOT.glob("*.py")
    }

    def source(name: str) -> Path | None:
        path = ROOT.joinpath(*name.split("."))
        if (path / "__init__.py").exists():
            return path / "__init__.py"
        return path.with_suffix(".py") if path.with_suffix(".py").exists() else None

    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        path = source(name)
        if name in seen or path is None:
            continue
        seen.add(name)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for imported in names:
                parts = imported.split(".")
                if parts[0] in first_party:
                    todo += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return seen


def test_the_image_holds_every_module_its_programs_import(
    services: dict[str, dict[str, Any]],
) -> None:
    copied = _copied_paths()
    for keep_out in ("tests", "docs", "bench", "sdk_reports", "deploy/secrets", ".venv"):
        assert keep_out not in copied
    programs = {p for svc in app_services(services).values() if (p := program(svc))}
    programs |= {"starter.py"}  # the coordinators' CLI, `docker compose run worker python ...`
    for name in _first_party_imports([entry.removesuffix(".py") for entry in programs]):
        path = name.replace(".", "/")
        file = path + ".py" if (ROOT / (path + ".py")).exists() else path + "/__init__.py"
        covered = any(file == c or file.startswith(c.rstrip("/") + "/") for c in copied)
        assert covered, f"the programs import {name}, which the Dockerfile does not copy"


def test_the_build_context_leaves_state_and_secrets_out() -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert {".git", ".venv", ".data", ".env", "deploy/secrets", "tests"} <= ignored


# --- the namespace job, against a real Temporal server -------------------------------------------


async def test_temporal_setup_registers_the_namespace_and_search_attributes_once(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ring = tmp_path / "keyring.json"
    create_keyring(ring)
    namespace = f"compose-{tmp_path.name[-12:].replace('_', '-')}"
    settings = load_settings(
        {
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": namespace,
            "INKANTELING_CODEC_KEY_FILE": str(ring),
        }
    )
    created, added = await set_up(settings, retention=timedelta(days=30), wait=60)
    assert created
    assert sorted(added) == sorted(key.name for key in search_attributes.ALL)

    described = await dev_env.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=30)
    listed = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    for key in search_attributes.ALL:
        assert listed.custom_attributes[key.name] == IndexedValueType.ValueType(
            key.indexed_value_type
        )

    # Every `docker compose up` runs it again: nothing changes.
    assert await set_up(settings, retention=timedelta(days=7), wait=60) == (False, [])
    again = await dev_env.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    assert again.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=30)
