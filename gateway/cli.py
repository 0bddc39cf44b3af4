"""The `fno-gateway` command: demo, demo-db, serve, check."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from gateway.settings import DEFAULT_DEMO_DB, HELP, Settings, for_catalog

# Uvicorn's worker processes rebuild the app from these environment variables.
DEMO_ANONYMOUS_ROLE = "DataReader"  # the demo lets anyone read; writes need a token
_ENV_PREFIX = "FNO_GATEWAY_"


# What `demo` does differently from `serve`: its --help must say so, not show serve's defaults.
DEMO_HELP = {
    "dualwrite_worker": "run the dual-write worker in the server (change capture, queues, jobs, recovery): "
    "always on in `demo`",
    "anonymous_role": f"role of callers without credentials ('none': nobody anonymous) "
    f"(default in `demo`: {DEMO_ANONYMOUS_ROLE!r}, read-only)",
    "events_worker": "run the events worker in the server (frames captured changes, delivers to endpoints): "
    "always on in `demo`",
    "demo_receiver": "serve a webhook receiver at /receiver/events (the demo-receiver endpoint): always on in `demo`",
}


def _add_settings(parser: argparse.ArgumentParser, overrides: dict[str, str] | None = None) -> None:
    overrides = overrides or {}
    for field in fields(Settings):
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, bool):
            text = overrides.get(field.name, f"{HELP[field.name]} (default: off)")
            parser.add_argument(flag, dest=field.name, action="store_true", help=text)
            continue
        kind: type = type(field.default)
        text = overrides.get(field.name, f"{HELP[field.name]} (default: {field.default!r})")
        parser.add_argument(flag, dest=field.name, type=kind, default=field.default, help=text)


def _settings(arguments: argparse.Namespace) -> Settings:
    return for_catalog(Settings(**{field.name: getattr(arguments, field.name) for field in fields(Settings)}))


def settings_from_environment() -> Settings:
    values: dict[str, Any] = {}
    for field in fields(Settings):
        raw = os.environ.get(_ENV_PREFIX + field.name.upper())
        if raw is not None:
            kind: type = type(field.default)
            values[field.name] = raw.lower() in ("1", "true") if kind is bool else kind(raw)
    return for_catalog(Settings(**values))


def app_from_environment():  # type: ignore[no-untyped-def]
    """The ASGI app factory uvicorn calls in each worker process."""
    from gateway import nodelay
    from gateway.app import create_app

    nodelay.install()

    return create_app(settings_from_environment())


def port_problem(host: str, port: int) -> str | None:
    """Why uvicorn could not listen on host:port (None: it can). Checked before anything is printed
    or built, so that a taken port is one clear line, not "serving ..." followed by uvicorn's error."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"cannot listen on {host}:{port}: {error.strerror}"
    family, kind, protocol, _, address = infos[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no problem
        try:
            probe.bind(address)
        except OSError as error:
            reason = "the port is already in use" if error.errno == errno.EADDRINUSE else error.strerror
            return f"cannot listen on http://{host}:{port}/: {reason} (choose another with --port)"
    return None


def serve(settings: Settings, hints: str = "") -> int:
    import uvicorn

    from gateway import balance
    from gateway.protect.signing import new_key_text

    problem = port_problem(settings.host, settings.port)
    if problem is not None:
        print(f"fno-gateway: {problem}", file=sys.stderr)
        return 1

    if not settings.signing_key:
        # One key for every worker of this serve, so that a nextLink is valid at whichever answers it.
        settings = replace(settings, signing_key=new_key_text())
    for field in fields(Settings):
        os.environ[_ENV_PREFIX + field.name.upper()] = str(getattr(settings, field.name))
    print(f"fno-gateway: serving {settings.db} at http://{settings.host}:{settings.port}/data/", file=sys.stderr)
    from gateway.settings import dataverse_db_url

    if dataverse_db_url(settings):
        print(f"fno-gateway: Dataverse side {dataverse_db_url(settings)} at "
              f"http://{settings.host}:{settings.port}/api/data/v9.2/ (dual-write admin: /admin/data/)",
              file=sys.stderr)
    if hints:
        print(hints, file=sys.stderr)
    # proxy_headers off: uvicorn would trust X-Forwarded-* from 127.0.0.1 whatever --trusted-proxies says and
    # rewrite the client address before the gateway sees it; gateway/edge/forwarded.py does it per the setting.
    if settings.workers > 1 and balance.available():
        # Connections dealt out to the workers in turn (gateway/balance.py), not left to whichever accepts first.
        return balance.serve(settings.host, settings.port, settings.workers)
    uvicorn.run("gateway.cli:app_from_environment", factory=True, host=settings.host, port=settings.port,
                workers=settings.workers, log_level="warning", proxy_headers=False)
    return 0


def _sqlite_file(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fno-gateway", description="F&O-style OData v4 virtual entities over SQL")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="build the demo database if it is missing, then serve it")
    demo.add_argument("--scale", type=float, default=1.0, help="demo size: 1 ≈ 1,000 customers")
    _add_settings(demo, DEMO_HELP)

    demo_db = commands.add_parser("demo-db", help="(re)build the demo F&O database")
    demo_db.add_argument("--url", default=DEFAULT_DEMO_DB, help="SQLAlchemy URL to build into")
    demo_db.add_argument("--scale", type=float, default=1.0, help="1 ≈ 1,000 customers; 100 ≈ 1,000,000 sales lines")
    demo_db.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")

    serve_parser = commands.add_parser("serve", help="serve a database described by a catalog")
    _add_settings(serve_parser)

    check = commands.add_parser("check", help="check a catalog against a live database")
    check.add_argument("--db", default=DEFAULT_DEMO_DB, help=HELP["db"])
    check.add_argument("--entities", default=Settings.entities, help=HELP["entities"])

    dualwrite = commands.add_parser("dualwrite", help="dual-write administration: maps, sync, queues, errors, jobs")
    actions = dualwrite.add_subparsers(dest="action", required=True)
    for action, text in (
        ("list", "the maps, their sides, directions and prerequisites"),
        ("status", "each map's state, queue length, open errors and initial sync"),
        ("start", "initial-sync and run maps (their prerequisites first)"),
        ("pause", "hold a map's changes in its queue"),
        ("resume", "run a paused map again: replay its queue (or --retry-list, --discard)"),
        ("stop", "stop a map (its queue is dropped)"),
        ("initial-sync", "copy maps' existing rows to the other side (matching by integration key), in the "
                         "documented order; prints the plan first"),
        ("errors", "the error log"),
        ("retry", "apply the rows of open errors again"),
        ("jobs", "asynchronous integration jobs and their progress"),
        ("run", "run the dual-write worker: captured changes, queues, jobs and recovery"),
        ("verify", "compare both sides of every Running map by integration key; --repair makes them agree"),
    ):
        sub = actions.add_parser(action, help=text, description=text)
        if action in ("start", "pause", "resume", "stop", "initial-sync"):
            sub.add_argument("maps", nargs="+" if action in ("start", "initial-sync") else 1, metavar="MAP",
                             help="map name, e.g. 'Customers V3' ('all' for every map)" if action == "start"
                             else "map name")
        if action == "start":
            sub.add_argument("--no-initial-sync", action="store_true", help="run without copying existing rows")
        if action == "initial-sync":
            sub.add_argument("--restart", action="store_true", help="start over instead of resuming")
            sub.add_argument("--plan", action="store_true", help="print the execution plan only (runs nothing)")
        if action == "resume":
            mode = sub.add_mutually_exclusive_group()
            mode.add_argument("--retry-list", action="store_true", help="move the queue to the error log to retry")
            mode.add_argument("--discard", action="store_true", help="drop the queue")
        if action in ("errors", "retry"):
            sub.add_argument("--map", help="only this map")
        if action == "errors":
            sub.add_argument("--all", action="store_true", help="also errors already retried")
        if action == "retry":
            sub.add_argument("ids", nargs="*", type=int, help="error ids (default: every open error)")
        if action == "run":
            sub.add_argument("--once", action="store_true", help="one pass, then exit")
        if action == "verify":
            sub.add_argument("--map", help="only this map (in any state)")
            sub.add_argument("--repair", action="store_true",
                             help="apply the truth side to the other (one-way maps: F&O; both ways: --master)")
            sub.add_argument("--master", choices=("fo", "dv"), default="fo",
                             help="both-ways maps: the side that is the truth for rows both sides have")
        _add_settings(sub)

    from gateway.dualwrite import linkcli
    from gateway.events import cli as events_cli
    from gateway.identity import cli as identity_cli
    from gateway.virtual import cli as virtual_cli

    identity_cli.add_commands(commands)
    linkcli.add_commands(commands, _add_settings)
    virtual_cli.add_commands(commands, _add_settings)
    events_cli.add_commands(commands, _add_settings)

    arguments = parser.parse_args(argv)
    if arguments.command == "token":
        return identity_cli.run_token(arguments)
    if arguments.command == "apikey":
        return identity_cli.run_apikey(arguments)
    if arguments.command in ("link", "unlink"):
        return linkcli.run(arguments, _settings(arguments))
    if arguments.command == "virtual":
        return virtual_cli.run(arguments, _settings(arguments))
    if arguments.command == "events":
        return events_cli.run(arguments, _settings(arguments))
    if arguments.command == "dualwrite":
        from gateway.dualwrite.cli import run_action

        return run_action(arguments, _settings(arguments))
    if arguments.command == "demo-db":
        from gateway.db import normalize_url
        from gateway.demo.generate import build_demo_database

        summary = build_demo_database(normalize_url(arguments.url), scale=arguments.scale, seed=arguments.seed)
        total = sum(summary.rows.values())
        print(f"built {arguments.url}: {total:,} rows in {summary.seconds:.1f}s", file=sys.stderr)
        return 0
    if arguments.command == "check":
        return _check(arguments.db, arguments.entities)
    settings = _settings(arguments)
    problem = port_problem(settings.host, settings.port)  # before a demo build that may take a while
    if problem is not None:
        print(f"fno-gateway: {problem}", file=sys.stderr)
        return 1
    hints = ""
    if arguments.command == "demo":
        path = _sqlite_file(settings.db)
        if path is not None and not path.exists():
            from gateway.demo.generate import build_demo_database

            print(f"building the demo database {path} (scale {arguments.scale})...", file=sys.stderr)
            build_demo_database(settings.db, scale=arguments.scale)
        settings = replace(settings, dualwrite_worker=True, events_worker=True, demo_receiver=True,
                           anonymous_role=settings.anonymous_role or DEMO_ANONYMOUS_ROLE)
        new_store = _dataverse_file_missing(settings)
        _start_demo_dualwrite(settings)
        if new_store:  # a new demo serves every F&O entity as a virtual table too (later, what the user chose)
            from gateway.virtual import cli as virtual_cli

            virtual_cli.enable_all(settings)
        from gateway.events.cli import ensure_demo_endpoint

        ensure_demo_endpoint(settings)
        hints = demo_hints(settings)
    return serve(settings, hints)


def _dataverse_file_missing(settings: Settings) -> bool:
    from gateway.settings import dataverse_db_url

    url = dataverse_db_url(settings)
    path = _sqlite_file(url) if url else None
    return path is not None and not path.exists()


def demo_hints(settings: Settings) -> str:
    """Ready-to-paste requests for the demo: a read as anyone, a business event activated for the demo's
    own webhook receiver, a write with a token (which raises it), and what the receiver got."""
    key = "" if settings.dev_key == Settings.dev_key else f" --dev-key {settings.dev_key}"
    root = f"http://{settings.host}:{settings.port}"
    customer = f"{root}/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')"
    activation = '{"BusinessEventId": "CustomerCreditLimitChangedBusinessEvent", "EndpointId": "demo-receiver"}'
    return (f"fno-gateway: anonymous callers are {settings.anonymous_role} (read-only); try:\n"
            f"  curl -s '{root}/data/CustomersV3?$top=2&$select=CustomerAccount,OrganizationName,CreditLimit'\n"
            f"  curl -s '{root}/api/data/v9.2/mserp_custcustomerv3entities?$top=2"
            f"&$select=mserp_customeraccount,mserp_creditlimit'\n"
            f"  TOKEN=$(fno-gateway token --sub you --roles SystemAdministrator{key})\n"
            f"  curl -s -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
            f"-d '{activation}' '{root}/data/BusinessEventsActivations' -o /dev/null -w '%{{http_code}}\\n'\n"
            f"  curl -s -X PATCH -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
            f"-d '{{\"CreditLimit\": 5000}}' \"{customer}\" -w '%{{http_code}}\\n'\n"
            f"  curl -s '{root}/receiver/events'   # the business event the PATCH raised, as delivered")


def _start_demo_dualwrite(settings: Settings) -> None:
    """The demo starts linked: `fno-gateway link` itself, which provisions the Dataverse side and starts
    every map the first time, resumes a link that failed, and is one query once linked."""
    from gateway.dualwrite.link import LinkLost, LinkRefused, link
    from gateway.dualwrite.unlink import unlink
    from gateway.settings import dataverse_db_url

    if not dataverse_db_url(settings) or settings.dualwrite_maps.lower() == "none":
        return
    try:
        try:
            code = link(settings, sys.stderr)
        except LinkLost as lost:  # the demo's Dataverse file was deleted: provision it again, as the user meant
            print(f"fno-gateway link: {lost}; the demo does that now", file=sys.stderr)
            unlink(settings, sys.stderr)
            code = link(settings, sys.stderr)
    except LinkRefused as error:
        code = 1
        print(f"fno-gateway link: {error}", file=sys.stderr)
    if code:
        print("dual-write: the demo is not linked (see above and /admin/data/EnvironmentLinks)", file=sys.stderr)


def _check(db: str, entities: str) -> int:
    from gateway.catalog.check import check_catalog
    from gateway.catalog.load import CatalogError, load_catalog
    from gateway.db import make_engine

    try:
        catalog = load_catalog(entities)
    except CatalogError as error:
        print(error, file=sys.stderr)
        return 1
    from sqlalchemy.exc import SQLAlchemyError

    engine = make_engine(db)
    try:
        problems = check_catalog(catalog, engine)
    except SQLAlchemyError as error:
        print(f"cannot read the database {db}: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {entities} against {db}", file=sys.stderr)
        return 1
    print(f"catalog {entities} matches {db}: {len(catalog.entities)} entity sets checked")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
