"""Helpers for the tests reading Prometheus pages: parse a page into samples, scrape ``/metrics``."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

__all__ = [
    "Samples",
    "labelled",
    "parse",
    "scrape",
    "value",
]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of the page, by (sample name, labels); fails on text Prometheus would refuse."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` (0 when absent: a counter not incremented yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def labelled(samples: Samples, name: str) -> list[dict[str, str]]:
    """The label sets of every sample named ``name``."""
    return [dict(labels) for sample_name, labels in samples if sample_name == name]


async def scrape(client: TestClient, **headers: str) -> Samples:
    """``GET /metrics`` (200, Prometheus text) parsed."""
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return parse(await response.text())
