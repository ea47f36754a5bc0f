"""``/codex/api/``: a real Jupyter Server with the extension enabled, driven over HTTP with ``jp_fetch``.

The server runs with ``allow_unauthenticated_access: False``; jobs run for
real (papermill, a kernel per job) on small stand-in notebooks and on the
curated analytics notebook.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stand_in_notebooks import NOTEBOOKS, write_notebooks
from traitlets.config import Config

pytestmark = [
    pytest.mark.integration,
    # Jupyter Server warns about a handler method without @tornado.web.authenticated: here that is an error
    pytest.mark.filterwarnings("error::jupyter_server.utils.JupyterServerAuthWarning"),
]

#: Seconds a job may take in these tests; a kernel start takes several on a loaded 2-core machine.
JOB_TIMEOUT = 180
ENDPOINTS = [
    ("GET", "health"),
    ("GET", "catalog"),
    ("GET", "lineage"),
    ("GET", "dashboards"),
    ("POST", "dashboards/analytics.ipynb/copy"),
    ("GET", "jobs"),
    ("POST", "jobs"),
    ("GET", "jobs/0123abcd"),
    ("GET", "jobs/0123abcd/output"),
    ("GET", "jobs/0123abcd/report"),
]


@pytest.fixture
def jp_server_config(tmp_path: Path, jp_root_dir: Path, request: pytest.FixtureRequest) -> Config:
    """The extension alone, authentication required; the stand-in notebooks (in the server's root, under
    ``notebooks/``) unless a test asks for the curated ones (outside the root, as an installed package's are)."""
    curated = request.node.get_closest_marker("curated") is not None
    codex: dict[str, Any] = {"jobs_dir": str(tmp_path / "jobs"), "job_timeout": JOB_TIMEOUT}
    if not curated:
        codex["notebooks_dir"] = str(write_notebooks(jp_root_dir / "notebooks"))
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"codex_jupyter": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "CodexJupyter": codex,
        }
    )


@pytest.fixture(autouse=True)
def _stop_jobs(jp_serverapp: Any) -> Iterator[None]:
    """Every job a test started is stopped with it (kernels included)."""
    yield
    jp_serverapp.web_app.settings["codex_jupyter"].runner.close()


async def _json(jp_fetch: Any, *path: str, **kwargs: Any) -> tuple[int, Any]:
    response = await jp_fetch("codex", "api", *path, raise_error=False, **kwargs)
    return response.code, json.loads(response.body)


async def _post_job(jp_fetch: Any, body: Any, **kwargs: Any) -> tuple[int, Any]:
    raw = body if isinstance(body, str) else json.dumps(body)
    return await _json(jp_fetch, "jobs", method="POST", body=raw, **kwargs)


async def _finished(jp_fetch: Any, job_id: str) -> dict[str, Any]:
    """Poll the job until it has finished (bounded by the runner's own timeout, plus slack)."""
    for _ in range(int(JOB_TIMEOUT / 0.5) + 60):
        code, job = await _json(jp_fetch, "jobs", job_id)
        assert code == 200, job
        if job["state"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {job}")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_endpoint_refuses_a_request_without_credentials(jp_fetch: Any, method: str, path: str) -> None:
    body = json.dumps({"notebook": "echo"}) if method == "POST" else None
    for credentials in ({"Authorization": ""}, {"Authorization": "token not-the-token"}):
        response = await jp_fetch(
            "codex", "api", *path.split("/"), method=method, body=body, headers=credentials, raise_error=False
        )
        assert response.code == 403, (credentials, response.body)


async def test_health_shows_each_surface_and_never_the_password(jp_fetch: Any, secrets: Any, monkeypatch) -> None:
    password = secrets.add(os.environ["CODEX_JUPYTER_TEST_SECRET"])
    for name, value in {"ACCOUNT": "acme-test", "USER": "ci", "PASSWORD": password, "WAREHOUSE": "wh_xs"}.items():
        monkeypatch.setenv(f"SNOWFLAKE_{name}", value)
    response = await jp_fetch("codex", "api", "health")
    secrets.scan(response.body, "GET /codex/api/health")
    health = json.loads(response.body)
    assert health["status"] == "ok"
    warehouse = health["surfaces"]["warehouse"]
    assert (warehouse["state"], warehouse["backend"], warehouse["connection"]) == (
        "configured",
        "snowflake",
        "environment",
    )
    assert "acme-test" in warehouse["detail"] and "wh_xs" in warehouse["detail"]
    assert health["surfaces"]["routing"]["state"] == "embedded"
    assert health["jobs"]["available"] is True and health["jobs"]["max_concurrent"] == 2


async def test_health_lists_the_connection_names_a_cell_may_use_without_their_settings(
    jp_fetch: Any, secrets: Any
) -> None:
    password = secrets.add(os.environ["CODEX_JUPYTER_TEST_SECRET"])  # the `fake` connection's, in connections.toml
    response = await jp_fetch("codex", "api", "health")
    secrets.scan(response.body, "GET /codex/api/health")
    warehouse = json.loads(response.body)["surfaces"]["warehouse"]
    assert warehouse["connections"] == ["local", "fake"]  # connections.toml has no default: the embedded one serves
    assert warehouse["state"] == "embedded" and password not in response.body.decode()


async def test_health_without_snowflake_settings_says_the_embedded_warehouse_serves(jp_fetch: Any) -> None:
    code, health = await _json(jp_fetch, "health")
    assert code == 200 and health["surfaces"]["warehouse"]["state"] == "embedded"


async def test_the_catalog_lists_the_warehouse_tables_with_their_columns(jp_fetch: Any) -> None:
    code, catalog = await _json(jp_fetch, "catalog")
    assert code == 200 and catalog["kind"] == "local"
    tables = {t["name"]: t for t in catalog["tables"]}
    assert {"branches", "customers", "transactions", "daily_sales"} <= set(tables)
    columns = {c["name"]: c["type"] for c in tables["branches"]["columns"]}
    assert columns["lat"] == "DOUBLE" and "city" in columns


async def test_the_catalog_of_an_unknown_connection_is_a_404_naming_the_known_ones(jp_fetch: Any) -> None:
    code, error = await _json(jp_fetch, "catalog", params={"connection": "nope"})
    assert code == 404 and "'nope'" in error["message"] and "fake" in error["message"]


@pytest.mark.curated
async def test_lineage_lists_the_tables_each_curated_notebook_reads(jp_fetch: Any) -> None:
    code, lineage = await _json(jp_fetch, "lineage")
    assert code == 200
    by_name = {n["notebook"]: n for n in lineage["notebooks"]}
    # %%snowflake cells and SQL written into a cell's wh.query("...") alike
    assert by_name["analytics.ipynb"]["reads"] == ["transactions", "customers", "daily_sales", "branches"]
    assert by_name["analytics.ipynb"]["writes"] == [] and by_name["analytics.ipynb"]["unknown"] == []
    assert by_name["anomalies.ipynb"]["reads"][:2] == ["iot_telemetry", "iot_devices"]
    assert by_name["feedback.ipynb"]["writes"] == ["feedback_insights"]  # wh.write(frame, "feedback_insights")
    code, one = await _json(jp_fetch, "lineage", params={"notebook": "analytics"})
    assert code == 200 and [c["cell"] for c in one["cells"]] == [4, 6, 8, 10]
    code, error = await _json(jp_fetch, "lineage", params={"notebook": "nope"})
    assert code == 404 and "analytics.ipynb" in error["message"]


async def test_dashboards_have_titles_and_the_path_jupyter_opens_them_by(jp_fetch: Any) -> None:
    code, answer = await _json(jp_fetch, "dashboards")
    assert code == 200
    echo = next(d for d in answer["dashboards"] if d["name"] == "echo.ipynb")
    assert echo == {"name": "echo.ipynb", "title": "echo", "description": "", "path": "notebooks/echo.ipynb"}
    assert [d["name"] for d in answer["dashboards"]] == sorted(f"{n}.ipynb" for n in NOTEBOOKS)


@pytest.mark.curated
async def test_a_curated_dashboard_outside_the_root_is_copied_into_it_once(jp_fetch: Any, jp_root_dir: Path) -> None:
    code, answer = await _json(jp_fetch, "dashboards")
    assert code == 200
    assert next(d for d in answer["dashboards"] if d["name"] == "maps.ipynb")["path"] is None
    code, copied = await _json(jp_fetch, "dashboards", "maps.ipynb", "copy", method="POST", body="")
    assert (code, copied) == (200, {"path": "codex-dashboards/maps.ipynb"})
    copy = jp_root_dir / "codex-dashboards" / "maps.ipynb"
    assert json.loads(copy.read_text(encoding="utf-8"))["cells"], "the copy is the curated notebook"
    opened = await jp_fetch("api", "contents", "codex-dashboards", "maps.ipynb")
    assert json.loads(opened.body)["type"] == "notebook"

    copy.write_text('{"edited": "by the user"}', encoding="utf-8")
    code, again = await _json(jp_fetch, "dashboards", "maps", "copy", method="POST", body="")
    assert (code, again) == (200, {"path": "codex-dashboards/maps.ipynb"})
    assert copy.read_text(encoding="utf-8") == '{"edited": "by the user"}'


@pytest.mark.curated
async def test_copying_an_unknown_dashboard_is_a_404_naming_the_dashboards(jp_fetch: Any, jp_root_dir: Path) -> None:
    code, error = await _json(jp_fetch, "dashboards", "secrets.ipynb", "copy", method="POST", body="")
    assert code == 404 and error["error"] == "NotebookNotFound"
    assert "no notebook named 'secrets.ipynb'" in error["message"] and "maps.ipynb" in error["message"]
    assert not (jp_root_dir / "codex-dashboards").exists()


@pytest.mark.curated
async def test_the_curated_dashboards_are_titled_by_their_first_heading_and_paragraph(jp_fetch: Any) -> None:
    code, answer = await _json(jp_fetch, "dashboards")
    assert code == 200
    by_name = {d["name"]: d for d in answer["dashboards"]}
    assert set(by_name) == {
        "analytics.ipynb",
        "anomalies.ipynb",
        "bi.ipynb",
        "feedback.ipynb",
        "forecasting.ipynb",
        "iot.ipynb",
        "maps.ipynb",
        "overview.ipynb",
    }
    analytics = by_name["analytics.ipynb"]
    assert analytics["title"] == "Demo Bank — analytics"
    # one plain line: the paragraph under the heading, Markdown marks dropped
    assert analytics["description"].startswith("Card spend, customers and branch sales of Demo Bank.")
    assert "**" not in analytics["description"] and "\n" not in analytics["description"]
    assert by_name["maps.ipynb"]["description"].count("*") == 0
    assert by_name["bi.ipynb"]["title"] == "Demo Bank — BI"
    assert by_name["bi.ipynb"]["description"].startswith("Business intelligence on the bank's warehouse: headline KPIs")
    # the package's notebooks lie outside the server's root: nothing there to open them by
    assert {d["path"] for d in by_name.values()} == {None}


async def test_a_job_runs_end_to_end_with_its_parameters(jp_fetch: Any) -> None:
    parameters = {"word": "ab", "times": 3, "loud": True}
    response = await jp_fetch(
        "codex", "api", "jobs", method="POST", body=json.dumps({"notebook": "echo", "parameters": parameters})
    )
    assert response.code == 201
    job = json.loads(response.body)
    assert response.headers["Location"].endswith(f"/codex/api/jobs/{job['id']}") and job["state"] == "queued"
    done = await _finished(jp_fetch, job["id"])
    assert done["state"] == "succeeded", done
    assert done["run_seconds"] > 0 and done["finished_at"] >= done["started_at"]
    assert any("ABABAB at 0.50" in line for line in done["log_tail"])

    output = await jp_fetch("codex", "api", "jobs", job["id"], "output")
    notebook = json.loads(output.body)
    injected = [c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "times = 3" in "".join(injected[0]["source"])
    assert "ABABAB at 0.50" in json.dumps(notebook["cells"][-1]["outputs"])

    response = await jp_fetch("codex", "api", "jobs", job["id"], "report")
    report = response.body.decode()
    assert "ABABAB at 0.50" in report and "print(f" not in report and "times = 3" not in report
    # opened in a browser, its scripts run sandboxed, away from the Jupyter origin and its cookies
    assert response.headers["Content-Security-Policy"].startswith("sandbox allow-scripts;")

    code, listed = await _json(jp_fetch, "jobs")
    assert code == 200 and [j["id"] for j in listed["jobs"]] == [job["id"]]


async def test_the_same_idempotency_key_returns_the_same_job(jp_fetch: Any) -> None:
    body = {"notebook": "echo", "parameters": {"times": 1}, "idempotency_key": "nightly-2026-01-31"}
    first_code, first = await _post_job(jp_fetch, body)
    again_code, again = await _post_job(jp_fetch, body)
    by_header_code, by_header = await _post_job(
        jp_fetch,
        {"notebook": "echo.ipynb", "parameters": {"times": 1}},
        headers={"Idempotency-Key": body["idempotency_key"]},
    )
    assert (first_code, again_code, by_header_code) == (201, 200, 200)
    assert first["id"] == again["id"] == by_header["id"]
    other_code, other = await _post_job(jp_fetch, {**body, "parameters": {"times": 2}})
    assert other_code == 409 and first["id"] in other["message"]
    _, listed = await _json(jp_fetch, "jobs")
    assert len(listed["jobs"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"notebook": "nope"}, 404, "echo.ipynb"),
        ({"notebook": "../echo"}, 404, "no notebook named '../echo'"),
        ({"notebook": "echo", "parameters": {"color": "red"}}, 400, "no parameter 'color'; its parameters are: word"),
        ({"notebook": "echo", "parameters": {"times": "3"}}, 400, "takes a int (default 2), not str '3'"),
        ({"notebook": "echo", "parameters": {"times": True}}, 400, "takes a int"),
        ({"notebook": "echo", "parameters": {"loud": 1}}, 400, "takes a bool"),
        ({"notebook": "echo", "parameters": ["times", 3]}, 400, "a JSON object"),
        ({"notebook": "plain", "parameters": {"x": 1}}, 400, "plain.ipynb takes no parameters"),
        ({"parameters": {}}, 400, "name the notebook"),
        ({"notebook": "echo", "when": "now"}, 400, "unknown field 'when'"),
        ({"notebook": "echo", "idempotency_key": ""}, 400, "idempotency key"),
        ("{not json", 400, "not JSON"),
        ([], 400, "JSON object"),
    ],
)
async def test_a_bad_job_request_gets_a_4xx_with_a_clear_message(
    jp_fetch: Any, body: Any, status: int, says: str
) -> None:
    code, error = await _post_job(jp_fetch, body)
    assert code == status and says in error["message"], error
    assert "\n" not in error["message"]
    code, listed = await _json(jp_fetch, "jobs")
    assert listed["jobs"] == []


async def test_an_int_parameter_takes_a_float_only_where_the_default_is_a_float(jp_fetch: Any) -> None:
    code, job = await _post_job(jp_fetch, {"notebook": "echo", "parameters": {"ratio": 2, "times": 1}})
    assert code == 201, job
    code, error = await _post_job(jp_fetch, {"notebook": "echo", "parameters": {"times": 1.5}})
    assert code == 400 and "not float 1.5" in error["message"]


@pytest.mark.parametrize("path", ["jobs/0123abcd", "jobs/0123abcd/output", "jobs/0123abcd/report"])
async def test_an_unknown_job_is_a_404(jp_fetch: Any, path: str) -> None:
    code, error = await _json(jp_fetch, *path.split("/"))
    assert code == 404 and "no job with id '0123abcd'" in error["message"]


async def test_failing_and_crashing_jobs_fail_alone_and_the_server_keeps_serving(jp_fetch: Any) -> None:
    ids = {}
    for name in ("crash", "fails", "plain"):
        code, job = await _post_job(jp_fetch, {"notebook": name})
        assert code == 201
        ids[name] = job["id"]
    crash, fails, plain = [await _finished(jp_fetch, ids[n]) for n in ("crash", "fails", "plain")]
    assert crash["state"] == "failed" and "DeadKernelError" in crash["error"]
    assert fails["state"] == "failed" and fails["error"] == "cell 1 raised ValueError: the input was empty"
    assert plain["state"] == "succeeded"
    # a failed job keeps the cells that ran, with the error shown
    failed_run = json.loads((await jp_fetch("codex", "api", "jobs", ids["fails"], "output")).body)
    assert "the input was empty" in json.dumps(failed_run)
    code, health = await _json(jp_fetch, "health")
    assert code == 200 and (health["jobs"]["failed"], health["jobs"]["succeeded"]) == (2, 1)


async def test_a_running_job_has_no_output_yet(jp_fetch: Any) -> None:
    code, job = await _post_job(jp_fetch, {"notebook": "hangs"})
    assert code == 201
    for part in ("output", "report"):
        code, error = await _json(jp_fetch, "jobs", job["id"], part)
        assert code == 409 and "ready when it has finished" in error["message"]


async def test_posting_a_job_without_papermill_names_the_extra_to_install(jp_fetch: Any, monkeypatch) -> None:
    for name in [m for m in sys.modules if m == "papermill" or m.startswith("papermill.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "papermill", None)
    code, error = await _post_job(jp_fetch, {"notebook": "echo"})
    assert code == 501 and "pip install 'codex-jupyter[jobs]'" in error["message"]
    code, _ = await _json(jp_fetch, "health")
    assert code == 200


@pytest.mark.curated
async def test_the_curated_analytics_notebook_runs_as_a_job_with_a_country(jp_fetch: Any) -> None:
    code, job = await _post_job(
        jp_fetch, {"notebook": "analytics", "parameters": {"country": "US", "min_amount": 3000}}
    )
    assert code == 201, job
    done = await _finished(jp_fetch, job["id"])
    assert done["state"] == "succeeded", (done["error"], done["log_tail"])
    notebook = json.loads((await jp_fetch("codex", "api", "jobs", job["id"], "output")).body)
    injected = next(c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    assert 'country = "US"' in "".join(injected["source"])
