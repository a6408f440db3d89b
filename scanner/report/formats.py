"""The output formats, apart from their renderers: ``--format`` is declared with this enum,
and building ``mtlsweep --help`` must not import what renders them."""

from __future__ import annotations

from enum import StrEnum


class OutputFormat(StrEnum):
    jsonl = "jsonl"
    json = "json"
    table = "table"
    csv = "csv"
    junit = "junit"
    sarif = "sarif"
    prometheus = "prometheus"
    html = "html"
