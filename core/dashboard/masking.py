"""What the dashboard shows of stored values: secrets masked, long values truncated.

Run inputs, step outputs and sync cursors are stored as JSON and may hold credentials (an ERP
password in a configuration echo, a token in a webhook payload). Every value shown goes through
:func:`present`: a key that names a secret has its value replaced, whatever its depth, and the
rendered text is cut at :data:`MAX_CHARS`.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "MASK",
    "MAX_CHARS",
    "mask_secrets",
    "present",
    "truncate",
]

MASK = "••••••"
MAX_CHARS = 2000
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|authorization|cookie|credential|signature|private[_-]?key",
    re.IGNORECASE,
)


def mask_secrets(value: Any) -> Any:
    """A copy of ``value`` in which every mapping entry whose key names a secret is masked."""
    if isinstance(value, dict):
        return {
            key: MASK if isinstance(key, str) and SECRET_KEY.search(key) and item not in (None, "") else mask_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    return value


def truncate(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` cut at ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… ({len(text) - limit} more characters)"


def present(value: Any, limit: int = MAX_CHARS) -> str:
    """``value`` as indented JSON, secrets masked, truncated; ``-`` for None."""
    if value is None:
        return "-"
    text = json.dumps(mask_secrets(value), indent=2, sort_keys=True, default=str, ensure_ascii=False)
    return truncate(text, limit)
