"""Sinergi: one person across the ministries' programmes.

The package is plain Python that works without Airflow: the simulator of the ministries,
the embedded PostgreSQL, and (later) parsing, loading, validation and identity resolution.
DAG files in ``dags/`` are thin wiring around it.
"""

__version__ = "0.1.0"
