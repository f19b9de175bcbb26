"""The retraining DAG's pure rules: settings, the promotion rule, the callback payload."""

from __future__ import annotations

import json

import pytest

from modelgate_retrain import logic
from modelgate_retrain.logic import CurrentHolder, Decision, RetrainConfigError

# --- the promotion rule ---------------------------------------------------------


def test_promotes_a_strictly_better_version():
    sut = logic.decide_promotion("accuracy", 0.95, CurrentHolder("3", 0.93), force=False)

    assert sut.promoted is True
    assert (sut.value, sut.previous, sut.previous_version) == (0.95, 0.93, "3")
    assert "beats" in sut.reason


def test_keeps_the_alias_when_the_metric_is_equal():
    sut = logic.decide_promotion("accuracy", 0.93, CurrentHolder("3", 0.93), force=False)

    assert sut.promoted is False
    assert sut.previous == 0.93
    assert "does not beat" in sut.reason


def test_keeps_the_alias_when_the_metric_is_worse():
    sut = logic.decide_promotion("f1_macro", 0.71, CurrentHolder("3", 0.93), force=False)

    assert sut.promoted is False
    assert (sut.metric, sut.value, sut.previous) == ("f1_macro", 0.71, 0.93)


def test_promotes_when_no_version_holds_the_alias():
    sut = logic.decide_promotion("accuracy", 0.5, None, force=False)

    assert sut.promoted is True
    assert sut.previous is None and sut.previous_version is None


def test_force_promotes_a_worse_version_and_still_reports_the_previous_value():
    sut = logic.decide_promotion("accuracy", 0.5, CurrentHolder("3", 0.93), force=True)

    assert sut.promoted is True
    assert sut.reason == "forced"
    assert (sut.previous, sut.previous_version) == (0.93, "3")


def test_does_not_replace_a_holder_without_the_metric_unless_forced():
    holder = CurrentHolder("1", None)

    assert logic.decide_promotion("accuracy", 0.99, holder, force=False).promoted is False
    assert "force" in logic.decide_promotion("accuracy", 0.99, holder, force=False).reason
    assert logic.decide_promotion("accuracy", 0.99, holder, force=True).promoted is True


def test_treats_a_non_finite_previous_value_as_missing():
    sut = logic.decide_promotion("accuracy", 0.9, CurrentHolder("2", float("nan")), force=False)

    assert sut.promoted is False
    assert sut.previous is None


def test_a_version_that_already_holds_the_alias_stays_promoted():
    sut = logic.decide_promotion("accuracy", 0.9, CurrentHolder("4", 0.9), force=False, version="4")

    assert sut.promoted is True


# --- the decision as version tags -------------------------------------------------


def test_decision_tags_round_trip_for_the_same_alias():
    decision = Decision(True, "forced", "accuracy", 0.9333333333333333, 0.8222222222222222, "2")

    tags = logic.decision_tags(decision, "champion")

    assert tags["modelgate.promoted"] == "true"
    assert tags["modelgate.previous_version"] == "2"
    assert all(isinstance(v, str) for v in tags.values())
    assert logic.decision_from_tags(tags, "champion") == decision


def test_decision_tags_without_a_previous_holder_round_trip():
    decision = Decision(True, "no version held the alias", "accuracy", 0.8, None, None)

    tags = logic.decision_tags(decision, "champion")

    assert "modelgate.previous_metric_value" not in tags
    assert logic.decision_from_tags(tags, "champion") == decision


def test_a_decision_recorded_for_another_alias_or_half_written_is_ignored():
    tags = logic.decision_tags(Decision(False, "x", "accuracy", 0.8, 0.9, "1"), "champion")

    assert logic.decision_from_tags(tags, "challenger") is None
    assert logic.decision_from_tags({k: v for k, v in tags.items() if k != "modelgate.promoted"}, "champion") is None
    assert logic.decision_from_tags({}, "champion") is None


# --- the callback payload ---------------------------------------------------------


def test_callback_payload_has_exactly_the_documented_shape():
    decision = Decision(True, "beats", "accuracy", 0.95, 0.93, "3")

    sut = logic.build_callback_payload(
        dag_id="modelgate_retrain",
        dag_run_id="manual__2026-11-22T03:00:00+00:00",
        model_name="iris-classifier",
        version=4,
        alias="champion",
        decision=decision,
    )

    assert sut == {
        "event": "model_version_ready",
        "dag_id": "modelgate_retrain",
        "dag_run_id": "manual__2026-11-22T03:00:00+00:00",
        "model_name": "iris-classifier",
        "version": "4",
        "alias": "champion",
        "promoted": True,
        "metric": {"name": "accuracy", "value": 0.95, "previous": 0.93},
    }
    assert json.loads(json.dumps(sut)) == sut


def test_callback_payload_sends_null_previous_when_nothing_held_the_alias():
    decision = Decision(False, "x", "f1_macro", 0.5, None, None)

    sut = logic.build_callback_payload(
        dag_id="d", dag_run_id="r", model_name="m", version="1", alias="a", decision=decision
    )

    assert sut["promoted"] is False
    assert sut["metric"] == {"name": "f1_macro", "value": 0.5, "previous": None}
    assert '"previous": null' in json.dumps(sut)


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://api:8000", "http://api:8000/v1/hooks/airflow"),
        ("http://api:8000/", "http://api:8000/v1/hooks/airflow"),
        (" https://gw.example.com/modelgate/ ", "https://gw.example.com/modelgate/v1/hooks/airflow"),
    ],
)
def test_callback_url_is_under_api_server_url(base, url):
    assert logic.callback_url(base) == url


def test_callback_settings_come_from_the_environment():
    sut = logic.callback_settings(
        {"API_SERVER_URL": "http://api:8000", "API_CALLBACK_TOKEN": "t" * 32, "MODELGATE_CALLBACK_TIMEOUT": "5"}
    )

    assert sut == logic.CallbackSettings("http://api:8000/v1/hooks/airflow", "t" * 32, 5.0)


def test_callback_settings_name_every_missing_variable_and_never_a_value():
    with pytest.raises(RetrainConfigError, match="API_SERVER_URL and API_CALLBACK_TOKEN not set"):
        logic.callback_settings({})
    with pytest.raises(RetrainConfigError, match="must be an http") as error:
        logic.callback_settings({"API_SERVER_URL": "api:8000", "API_CALLBACK_TOKEN": "secret-token-value"})
    assert "secret-token-value" not in str(error.value)


# --- settings -----------------------------------------------------------------------


def test_default_params_take_the_model_name_and_experiment_from_the_environment():
    assert logic.default_params({})["model_name"] == "iris-classifier"
    sut = logic.default_params({"MODELGATE_MODEL_NAME": "wine", "MODELGATE_EXPERIMENT": "nightly"})
    assert (sut["model_name"], sut["experiment"]) == ("wine", "nightly")


def test_settings_from_default_params():
    sut = logic.settings_from_params(logic.default_params({}))

    assert sut == logic.RetrainSettings(
        model_name="iris-classifier",
        alias="champion",
        C=1.0,
        max_iter=1000,
        metric="accuracy",
        force=False,
        experiment="modelgate-retrain",
        flavor="onnx",
    )


def test_settings_accept_conf_as_typed_by_hand():
    params = {**logic.default_params({}), "C": 2, "max_iter": 50.0, "force": "true"}

    sut = logic.settings_from_params(params)

    assert (sut.C, sut.max_iter, sut.force) == (2.0, 50, True)


def test_bad_settings_name_every_bad_key():
    params = {
        **logic.default_params({}),
        "model_name": "a/b",
        "alias": "no spaces",
        "C": 0,
        "max_iter": 0,
        "metric": "loss",
        "force": "maybe",
        "experiment": "",
        "flavor": "pytorch",
    }

    with pytest.raises(RetrainConfigError) as error:
        logic.settings_from_params(params)

    for key in ("model_name", "alias", "C", "max_iter", "metric", "force", "experiment", "flavor"):
        assert f"{key} must" in str(error.value)


def test_settings_take_the_sklearn_flavor():
    sut = logic.settings_from_params({**logic.default_params({}), "flavor": "sklearn"})

    assert sut.flavor == "sklearn"


def test_retry_policy_defaults_to_three_retries_ten_seconds_apart_and_reads_the_environment():
    assert logic.retry_policy({}) == (3, 10.0)
    assert logic.retry_policy({"MODELGATE_RETRAIN_RETRIES": "0", "MODELGATE_RETRAIN_RETRY_DELAY": "2.5"}) == (0, 2.5)
    with pytest.raises(RetrainConfigError, match="MODELGATE_RETRAIN_RETRIES must be a whole number"):
        logic.retry_policy({"MODELGATE_RETRAIN_RETRIES": "three"})
    with pytest.raises(RetrainConfigError, match="must not be negative"):
        logic.retry_policy({"MODELGATE_RETRAIN_RETRY_DELAY": "-1"})


def test_tracking_uri_is_required():
    assert logic.tracking_uri({"MLFLOW_TRACKING_URI": "http://mlflow:5000"}) == "http://mlflow:5000"
    with pytest.raises(RetrainConfigError, match="MLFLOW_TRACKING_URI is not set"):
        logic.tracking_uri({"MLFLOW_TRACKING_URI": " "})
