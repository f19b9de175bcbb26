"""The DAG's training, registration and promotion against a real, throwaway MLflow
server (`mlflow server` on a free loopback port, SQLite and artifacts in a
temporary directory), the way the DAG's tasks call them, minus Airflow."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from modelgate_retrain import logic, pipeline

# mlflow server needs ~5-15 s to start on a 2-core machine.
SERVER_START_TIMEOUT = 90
# Iris accuracies on the fixed split (pipeline.RANDOM_STATE, TEST_SIZE):
# C=0.001 → 0.711, C=0.01 → 0.822, C=1.0 → 0.933.
WORSE_C, BASE_C, BETTER_C = 0.001, 0.01, 1.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "mlflow", "server",
                "--host", "127.0.0.1",
                "--port", str(port),
                "--workers", "1",
                "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
                "--serve-artifacts",
                "--artifacts-destination", str(workdir / "artifacts"),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            start_new_session=True,  # so teardown can end uvicorn's workers too
        )  # fmt: skip
    try:
        wait_until_serving(uri, server, log_path)
        yield uri
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def wait_until_serving(uri: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"mlflow server exited ({server.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            # A registry call, not just /health (which skips the host check).
            with urllib.request.urlopen(f"{uri}/api/2.0/mlflow/registered-models/search", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"mlflow server did not answer within {SERVER_START_TIMEOUT} s:\n{log_path.read_text()[-3000:]}")


def settings(
    name: str, C: float, force: bool = False, metric: str = "accuracy", flavor: str = "onnx"
) -> logic.RetrainSettings:
    params = {**logic.default_params({}), "model_name": name, "C": C, "force": force, "metric": metric}
    return logic.settings_from_params({**params, "flavor": flavor})


def retrain(uri: str, name: str, C: float, force: bool = False, flavor: str = "onnx"):
    """What the DAG's first three tasks do, in order."""
    s = settings(name, C, force, flavor=flavor)
    trained = pipeline.train_and_log(s, uri, run_tags={logic.TAG_DAG_RUN_ID: f"test-{name}-{C}"})
    version = pipeline.register_version(uri, s.model_name, trained["model_uri"], trained["run_id"])
    decision = pipeline.promote_version(uri, s.model_name, version, s.alias, s.metric, s.force)
    return trained, version, decision


def alias_version(uri: str, name: str, alias: str = "champion") -> str:
    return str(pipeline._client(uri).get_model_version_by_alias(name, alias).version)


def test_first_version_is_registered_with_the_onnx_model_the_api_expects_and_takes_the_free_alias(tracking_uri):
    trained, version, decision = retrain(tracking_uri, "iris-first", BASE_C)

    assert version == "1"
    assert decision.promoted is True and decision.previous is None
    assert alias_version(tracking_uri, "iris-first") == "1"
    assert trained["metrics"]["accuracy"] == pytest.approx(0.8222, abs=1e-3)

    client = pipeline._client(tracking_uri)
    registered = client.get_model_version("iris-first", version)
    assert registered.run_id == trained["run_id"]
    assert registered.tags["modelgate.promoted"] == "true"
    run = client.get_run(trained["run_id"])
    assert run.data.params["C"] == "0.01"
    assert set(run.data.metrics) >= {"accuracy", "f1_macro"}

    import mlflow
    import onnx
    import yaml
    from onnx.external_data_helper import uses_external_data

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/iris-first/{version}"))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    assert mlmodel["flavors"]["onnx"]["data"] == "model.onnx"
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert [(c["name"], c["type"]) for c in inputs] == [(f, "double") for f in pipeline.FEATURES]
    assert (local / "serving_input_example.json").exists()
    graph = onnx.load(str(local / "model.onnx"), load_external_data=False).graph
    assert not [t.name for t in graph.initializer if uses_external_data(t)]
    assert [(i.name, i.type.tensor_type.elem_type) for i in graph.input] == [("float_input", onnx.TensorProto.FLOAT)]
    assert [o.name for o in graph.output] == ["label", "probabilities"]


def test_the_sklearn_flavor_registers_the_unconverted_model_with_the_requirements_to_rebuild_its_environment(
    tracking_uri,
):
    trained, version, decision = retrain(tracking_uri, "iris-sklearn", BASE_C, flavor="sklearn")

    assert (version, decision.promoted) == ("1", True)
    assert trained["metrics"]["accuracy"] == pytest.approx(0.8222, abs=1e-3)

    import mlflow
    import sklearn
    import yaml

    uri = f"models:/iris-sklearn/{version}"
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    assert set(mlmodel["flavors"]) == {"python_function", "sklearn"}
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert json.loads(mlmodel["signature"]["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}, "name": "label"}
    ]
    requirements = (local / "requirements.txt").read_text().split()
    assert f"mlflow=={mlflow.__version__}" in requirements
    assert f"scikit-learn=={sklearn.__version__}" in requirements
    assert "-r requirements.txt" in (local / "python_env.yaml").read_text()

    # What the API's Python workers answer: MLflow's pyfunc over the model as trained.
    _, x_test, _, _ = pipeline.load_data()
    served = mlflow.pyfunc.load_model(uri).predict(x_test)
    trained_again = pipeline.fit(*pipeline.load_data()[::2], settings("iris-sklearn", BASE_C))
    assert list(served) == list(trained_again.predict(x_test))


def test_a_worse_version_is_registered_but_leaves_the_alias_where_it_was(tracking_uri):
    retrain(tracking_uri, "iris-worse", BASE_C)

    _, version, decision = retrain(tracking_uri, "iris-worse", WORSE_C)

    assert version == "2"
    assert decision.promoted is False
    assert decision.previous == pytest.approx(0.8222, abs=1e-3) and decision.previous_version == "1"
    assert alias_version(tracking_uri, "iris-worse") == "1"
    tags = pipeline._client(tracking_uri).get_model_version("iris-worse", "2").tags
    assert tags["modelgate.promoted"] == "false"
    assert tags["modelgate.previous_version"] == "1"


def test_an_equal_version_leaves_the_alias_where_it_was(tracking_uri):
    retrain(tracking_uri, "iris-equal", BASE_C)

    _, version, decision = retrain(tracking_uri, "iris-equal", BASE_C)

    assert (version, decision.promoted) == ("2", False)
    assert decision.value == decision.previous
    assert alias_version(tracking_uri, "iris-equal") == "1"


def test_a_better_version_takes_the_alias(tracking_uri):
    retrain(tracking_uri, "iris-better", BASE_C)

    _, version, decision = retrain(tracking_uri, "iris-better", BETTER_C)

    assert (version, decision.promoted) == ("2", True)
    assert decision.value > decision.previous
    assert alias_version(tracking_uri, "iris-better") == "2"


def test_force_moves_the_alias_to_a_worse_version(tracking_uri):
    retrain(tracking_uri, "iris-force", BASE_C)

    _, version, decision = retrain(tracking_uri, "iris-force", WORSE_C, force=True)

    assert (version, decision.promoted, decision.reason) == ("2", True, "forced")
    assert alias_version(tracking_uri, "iris-force") == "2"


def test_retried_register_and_promote_tasks_neither_duplicate_the_version_nor_change_the_decision(tracking_uri):
    trained, version, decision = retrain(tracking_uri, "iris-retry", BASE_C)

    again = pipeline.register_version(tracking_uri, "iris-retry", trained["model_uri"], trained["run_id"])
    # A retry with force on would move the alias if it decided again; it keeps the first decision.
    redecided = pipeline.promote_version(tracking_uri, "iris-retry", version, "champion", "accuracy", True)

    assert again == version
    assert redecided == decision
    versions = pipeline._client(tracking_uri).search_model_versions("name='iris-retry'")
    assert [str(v.version) for v in versions] == [version]
