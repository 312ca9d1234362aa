-- Run once by the postgres image on an empty data volume (as POSTGRES_USER, in POSTGRES_DB).
-- The Airflow metadata lives in `airflow`; Sinergi's warehouse gets its own database beside it.
-- Point AIRFLOW_CONN_WAREHOUSE at it, or at an external warehouse.
CREATE DATABASE warehouse;
