"""Makes the DAG folder importable, as Airflow does (it puts the DAG bundle's
folder on sys.path), both from the repository (airflow/tests/../dags) and in
the Airflow image (/opt/airflow/tests/../dags)."""

import sys
from pathlib import Path

DAGS = Path(__file__).resolve().parent.parent / "dags"
if str(DAGS) not in sys.path:
    sys.path.insert(0, str(DAGS))
