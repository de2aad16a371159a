"""One blueprint per resource; the app factory registers them in this order."""

from __future__ import annotations

from flask import Blueprint

from .. import browser, preview
from . import create, documents, items, jobs, reports, search, studies, system

BLUEPRINTS: tuple[Blueprint, ...] = (
    system.blueprint,
    create.blueprint,
    jobs.blueprint,
    search.blueprint,
    documents.blueprint,
    items.blueprint,
    reports.blueprint,
    studies.blueprint,
    browser.blueprint,
    preview.blueprint,
)
