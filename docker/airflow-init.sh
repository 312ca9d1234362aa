#!/usr/bin/env bash
# The compose stack's one-shot init service: check the environment, migrate the metadata
# database, and write the admin's password file for Airflow's SimpleAuthManager from
# AIRFLOW_ADMIN_PASSWORD (mode 0600, on the `airflow-auth` volume the API server reads).
set -euo pipefail

missing=()
for name in AIRFLOW__DATABASE__SQL_ALCHEMY_CONN AIRFLOW__CELERY__BROKER_URL \
            AIRFLOW__CORE__FERNET_KEY AIRFLOW__API_AUTH__JWT_SECRET AIRFLOW__API__SECRET_KEY \
            AIRFLOW_CONN_WAREHOUSE AIRFLOW_CONN_KP2MI_API SINERGI_PII_KEY \
            AIRFLOW_ADMIN_USERNAME AIRFLOW_ADMIN_PASSWORD; do
  [[ -n "${!name:-}" ]] || missing+=("$name")
done
if (( ${#missing[@]} )); then
  echo "airflow-init: set ${missing[*]} (see .env.example)" >&2
  exit 1
fi
if (( ${#SINERGI_PII_KEY} < 16 )); then
  echo "airflow-init: SINERGI_PII_KEY must be at least 16 characters" >&2
  exit 1
fi

echo "airflow-init: airflow db migrate"
airflow db migrate

passwords="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?}"
umask 077
python - "$passwords" <<'PY'
import json, os, sys
path = sys.argv[1]
user, password = os.environ["AIRFLOW_ADMIN_USERNAME"], os.environ["AIRFLOW_ADMIN_PASSWORD"]
tmp = path + ".tmp"
with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
    json.dump({user: password}, handle)
os.replace(tmp, path)
PY
echo "airflow-init: admin user '${AIRFLOW_ADMIN_USERNAME}' ready; migrations done"
