"""Shared fixtures of the FetchXML tests: the Dataverse catalog and a fixed 'today'."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.catalog.load import load_catalog
from gateway.catalog.model import Catalog

# A Wednesday: weeks (Sunday 2024-05-12 to Saturday 2024-05-18) and months are easy to check by hand.
TODAY = dt.date(2024, 5, 15)
USER = "6d8f1a8e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
DATAVERSE = Path(__file__).resolve().parents[2] / "entities" / "dataverse"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(DATAVERSE)
