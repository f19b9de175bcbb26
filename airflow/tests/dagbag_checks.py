"""The DAG files as Airflow parses them: needs Airflow, so it runs inside the
Airflow image (airflow/tests/run-in-image.sh names this file explicitly; a plain
`pytest airflow/tests` collects only test_*.py, see pytest.ini).

Parsed with BundleDagBag, the loader Airflow's DAG processor and task runner
use, which puts the DAG folder on sys.path (so `modelgate_retrain` imports) and
honours .airflowignore. Parsing needs no metadata database.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.sdk.exceptions import ParamValidationError

DAGS = Path(__file__).resolve().parent.parent / "dags"


def parse(monkeypatch: pytest.MonkeyPatch | None = None, **env: str) -> BundleDagBag:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return BundleDagBag(dag_folder=DAGS, bundle_path=DAGS)


@pytest.fixture(scope="module")
def bag() -> BundleDagBag:
    return parse()


@pytest.fixture(scope="module")
def retrain(bag):
    return bag.dags["modelgate_retrain"]


def test_every_dag_file_imports_without_errors(bag):
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"modelgate_retrain", "modelgate_smoke"}


def test_only_dag_files_are_parsed_not_the_helper_package(bag):
    parsed = {Path(path).relative_to(DAGS).as_posix() for path in bag.file_last_changed}

    assert parsed == {"retrain_dag.py", "smoke_dag.py"}


def test_retrain_runs_train_register_promote_notify_in_a_line(retrain):
    upstream = {t.task_id: t.upstream_task_ids for t in retrain.tasks}

    assert upstream == {
        "train_model": set(),
        "register_model": {"train_model"},
        "promote": {"register_model"},
        "notify_api": {"promote"},
    }


def test_retrain_is_triggered_only_and_one_run_at_a_time(retrain):
    assert type(retrain.timetable).__name__ == "NullTimetable"  # schedule=None
    assert retrain.catchup is False
    assert retrain.max_active_runs == 1


def test_every_task_retries_three_times_ten_seconds_apart_by_default(retrain):
    assert {(t.retries, t.retry_delay) for t in retrain.tasks} == {(3, timedelta(seconds=10))}


def test_retries_come_from_the_environment(monkeypatch):
    dag = parse(monkeypatch, MODELGATE_RETRAIN_RETRIES="1", MODELGATE_RETRAIN_RETRY_DELAY="2").dags[
        "modelgate_retrain"
    ]

    assert {(t.retries, t.retry_delay) for t in dag.tasks} == {(1, timedelta(seconds=2))}


def test_params_have_the_documented_defaults(retrain):
    assert dict(retrain.params) == {
        "model_name": "iris-classifier",
        "alias": "champion",
        "C": 1.0,
        "max_iter": 1000,
        "metric": "accuracy",
        "force": False,
        "experiment": "modelgate-retrain",
        "flavor": "onnx",
    }


def test_model_name_default_comes_from_the_environment(monkeypatch):
    dag = parse(monkeypatch, MODELGATE_MODEL_NAME="wine-classifier").dags["modelgate_retrain"]

    assert dag.params["model_name"] == "wine-classifier"


@pytest.mark.parametrize(
    "conf",
    [{"C": -1}, {"C": "big"}, {"max_iter": 0}, {"metric": "loss"}, {"force": "maybe"}, {"model_name": "a/b"},
     {"flavor": "pytorch"}],
)
def test_a_bad_conf_is_refused_by_the_param_schemas(retrain, conf):
    params = copy.deepcopy(retrain.params)

    with pytest.raises(ParamValidationError):
        params.update(conf)  # ParamsDict validates on assignment, as a triggered run's conf is


def test_a_good_conf_passes_the_param_schemas(retrain):
    params = copy.deepcopy(retrain.params)

    good = {"C": 0.5, "max_iter": 200, "metric": "f1_macro", "force": True, "flavor": "sklearn"}
    params.update(good)

    assert params.validate() == {**dict(retrain.params), **good}
