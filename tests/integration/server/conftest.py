"""pytest-jupyter's server fixtures (``jp_fetch``, ``jp_serverapp``) and its async-test hooks, for this folder only.

Imported here rather than named in ``pytest_plugins`` at the root, so its
autouse event loop and its hooks touch no other test. pytest-asyncio must not
run in auto mode beside it (every request would time out).
"""

from __future__ import annotations

from pytest_jupyter.jupyter_server import *  # noqa: F403
