"""The worker subprocess of the tests: ``erpcommerce worker`` plus the test workflows' plugin.

Run as ``python tests/workflows/worker_process.py``; the configuration comes from the
``ERPCOMMERCE_*`` environment variables (and ``./config.toml`` if the working directory has one),
as for the real command. It runs the same worker (:func:`core.worker.run_worker`) with the
module :mod:`crash_workflows` imported under the same name as in the test process (which
declares, and so registers, the test workflows) and registered as a plugin (its ``handle_event``
records deliveries). The command's own checks (Redis configured, database migrated) are tested
on the real ``erpcommerce worker``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the package "workflows"

from workflows import crash_workflows  # noqa: E402

from core.config import load_settings  # noqa: E402
from core.logs import configure_logging, configured_secrets  # noqa: E402
from core.plugins import build_plugin_manager  # noqa: E402
from core.worker import run_worker  # noqa: E402


def main() -> None:
    settings = load_settings(check_secrets=False)
    configure_logging(None, secrets=configured_secrets(settings))
    plugins = build_plugin_manager(settings, extra_plugins=(crash_workflows,))
    asyncio.run(run_worker(settings, plugins))


if __name__ == "__main__":
    main()
