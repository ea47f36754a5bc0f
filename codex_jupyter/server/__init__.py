"""The jupyter_server extension: ``/codex/api/`` for orchestrators and the JupyterLab panel.

Enabled by ``pip install`` (``jupyter-config/server-config/codex_jupyter.json``
lands in ``etc/jupyter/jupyter_server_config.d``). Imported only by Jupyter
Server, never by ``import codex_jupyter``. Settings, in any Jupyter Server
config file or on the command line (``--CodexJupyter.max_concurrent_jobs=4``):
see :class:`CodexJupyter`.
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any

from traitlets import Float, Int, Unicode
from traitlets.config import Configurable

from codex_jupyter import config
from codex_jupyter.pipelines.jobs import JobRunner
from codex_jupyter.pipelines.notebooks import curated_dir
from codex_jupyter.server.handlers import Context, setup_handlers


class CodexJupyter(Configurable):
    """Where the server finds its notebooks and keeps its jobs, and how many jobs run at once for how long."""

    notebooks_dir = Unicode(
        "", config=True, help="Folder of the notebooks jobs and lineage may use (default: the curated notebooks)."
    )
    jobs_dir = Unicode("", config=True, help="Folder of the job store (default: <cache dir>/jobs).")
    max_concurrent_jobs = Int(2, config=True, help="Jobs that run at once; the others wait in the queue.")
    job_timeout = Float(3600.0, config=True, help="Seconds a job may run before it is stopped and failed.")
    job_retention_days = Float(30.0, config=True, help="Days a finished job (its notebook, log) is kept, then deleted.")


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the ``/codex/api/`` handlers and start the job runner (stopped when the server's process ends)."""
    settings = CodexJupyter(config=serverapp.config)
    notebooks = Path(settings.notebooks_dir) if settings.notebooks_dir else curated_dir()
    jobs = Path(settings.jobs_dir) if settings.jobs_dir else config.cache_dir() / "jobs"
    runner = JobRunner(
        jobs,
        notebooks,
        max_concurrent=settings.max_concurrent_jobs,
        timeout=settings.job_timeout,
        keep_days=settings.job_retention_days,
    )
    atexit.register(runner.close)
    root = Path(serverapp.root_dir).expanduser() if serverapp.root_dir else None
    setup_handlers(serverapp.web_app, Context(runner=runner, notebooks=notebooks, server_root=root))
    serverapp.log.info("codex_jupyter: /codex/api/ serving the notebooks in %s, jobs in %s", notebooks, jobs)
