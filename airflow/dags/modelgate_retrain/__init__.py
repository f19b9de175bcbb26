"""The retraining DAG's code, kept out of the DAG file so it can be tested without Airflow.

- ``logic``: pure rules (settings from params, the promotion rule, the callback
  payload); standard library only.
- ``pipeline``: training, ONNX conversion, MLflow logging, registration and
  promotion (scikit-learn, skl2onnx, onnxruntime, mlflow; no Airflow).
- ``callback``: the POST to the API server (requests; no Airflow).

The DAG processor skips this package (see ``.airflowignore``): only
``retrain_dag.py`` defines a DAG, and the heavy imports stay inside its tasks.
"""
