"""`fno-gateway link` and `fno-gateway unlink`: the environment link's commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from gateway.catalog.load import CatalogError
from gateway.dualwrite.link import STEPS, LinkRefused, link
from gateway.dualwrite.unlink import unlink
from gateway.errors import ODataError
from gateway.settings import Settings

LINK_HELP = ("provision the Dataverse-side store for the F&O database (tables, dual-write's tables, maps, "
             "initial sync) and start every map; a failed link resumes where it stopped")
UNLINK_HELP = "remove the Dataverse-side store and dual-write's state for the F&O database (F&O data untouched)"


def add_commands(commands: argparse._SubParsersAction, add_settings: Callable[[argparse.ArgumentParser], None]) -> None:  # type: ignore[type-arg]
    steps = "; ".join(f"{position}. {step.name}: {step.does}" for position, step in enumerate(STEPS, 1))
    link_parser = commands.add_parser("link", help=LINK_HELP, description=f"{LINK_HELP}. The steps: {steps}.")
    add_settings(link_parser)
    add_settings(commands.add_parser("unlink", help=UNLINK_HELP, description=UNLINK_HELP))


def run(arguments: argparse.Namespace, settings: Settings) -> int:
    action = link if arguments.command == "link" else unlink
    try:
        return action(settings, sys.stdout)
    except (LinkRefused, CatalogError, ODataError) as error:
        print(f"fno-gateway {arguments.command}: {getattr(error, 'message', error)}", file=sys.stderr)
        return 1
