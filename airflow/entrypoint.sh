#!/usr/bin/env bash
# Gives the image known credentials, then runs the command (airflow standalone).
#
# Airflow 3's SimpleAuthManager reads users from
# AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS ("name:role,...") and passwords from
# a JSON file; users missing from the file get a random password printed to the
# log. Writing the file before Airflow starts makes the password known.
#
# Environment (defaults in brackets):
#   AIRFLOW_USERNAME   [airflow]  admin user
#   AIRFLOW_PASSWORD   [airflow]  its password (exchanged at POST /auth/token)
#   AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS           [$AIRFLOW_USERNAME:admin]
#   AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE  [$AIRFLOW_HOME/simple_auth_manager_passwords.json]
#   AIRFLOW__API_AUTH__JWT_SECRET, AIRFLOW__API_AUTH__JWT_EXPIRATION_TIME and
#   any other AIRFLOW__SECTION__KEY: see the Dockerfile.
set -euo pipefail

username=${AIRFLOW_USERNAME:-airflow}
password=${AIRFLOW_PASSWORD:-airflow}
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-$username:admin}
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/simple_auth_manager_passwords.json}

# Written on every start so a changed AIRFLOW_PASSWORD takes effect; python
# does the JSON quoting. umask: the file holds a plaintext password.
(
  umask 077
  python3 -c 'import json, sys; json.dump({sys.argv[1]: sys.argv[2]}, open(sys.argv[3], "w"))' \
    "$username" "$password" "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
)

exec "$@"
