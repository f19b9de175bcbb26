"""Smoke DAG for Modelgate's tests: a triggered run carries its conf and succeeds in seconds.

Trigger with POST /api/v2/dags/modelgate_smoke/dagRuns {"logical_date": null, "conf": {...}}.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task


@dag(dag_id="modelgate_smoke", schedule=None, catchup=False, tags=["modelgate", "smoke"])
def modelgate_smoke():
    @task
    def echo_conf() -> dict:
        """Returns the run's conf, so the test can read it back as this task's XCom."""
        conf = get_current_context()["dag_run"].conf or {}
        print(f"conf: {conf}")
        return conf

    @task
    def summarize(conf: dict) -> str:
        """Second task, so the run exercises a dependency and an XCom hand-off."""
        return f"received {len(conf)} conf key(s)"

    summarize(echo_conf())


modelgate_smoke()
