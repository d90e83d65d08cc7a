"""Parsing qs-style query strings, as ``@medusajs/js-sdk`` sends them.

``a[b]=1&a[c][0]=x&a[c][1]=y&id[]=1&id[]=2&fields=*variants`` becomes
``{"a": {"b": "1", "c": ["x", "y"]}, "id": ["1", "2"], "fields": "*variants"}``.
A key repeated without brackets becomes a list.
"""

from __future__ import annotations

import re
from typing import Any

from multidict import MultiMapping

from core.errors import InvalidData

__all__ = [
    "parse_query",
]

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_MAX_DEPTH = 5


def _path(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    rest = "[" + rest
    segments = _SEGMENT.findall(rest)
    if "".join(f"[{s}]" for s in segments) != rest or len(segments) > _MAX_DEPTH:
        raise InvalidData(f"Malformed query parameter: {key}")
    return [head, *segments]


def _assign(target: dict[str, Any], path: list[str], value: str) -> None:
    node: Any = target
    for position, segment in enumerate(path):
        last = position == len(path) - 1
        if isinstance(node, list):
            raise InvalidData(f"Conflicting query parameter: {'.'.join(path)}")
        if last:
            if segment == "" or segment.isdigit():
                raise InvalidData(f"Malformed query parameter: {'.'.join(path)}")
            existing = node.get(segment)
            if existing is None:
                node[segment] = value
            elif isinstance(existing, list):
                existing.append(value)
            elif isinstance(existing, str):
                node[segment] = [existing, value]
            else:
                raise InvalidData(f"Conflicting query parameter: {segment}")
            return
        following = path[position + 1]
        if following == "" or following.isdigit():
            # Arrays: a[]=x or a[0]=x (indices are kept in order of appearance).
            if position + 2 != len(path):
                raise InvalidData(f"Nested arrays are not supported: {'.'.join(path)}")
            container = node.setdefault(segment, [])
            if not isinstance(container, list):
                container = node[segment] = [container]
            container.append(value)
            return
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise InvalidData(f"Conflicting query parameter: {segment}")
        node = child


def parse_query(query: MultiMapping[str]) -> dict[str, Any]:
    """A nested dict from a request's query parameters."""
    result: dict[str, Any] = {}
    for key, value in query.items():
        _assign(result, _path(key), value)
    return result
