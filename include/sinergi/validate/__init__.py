"""Validate each loaded batch with its Great Expectations suite; quarantine; Data Docs.

``checks`` holds the rules as data, ``suites`` which rules each source's batches must pass
(both import instantly), ``run`` runs a suite on one batch in Postgres (imports GX when
called). Entry point: ``from sinergi.validate.run import validate_batch, default_docs_dir``.
"""

from __future__ import annotations

from sinergi.validate.checks import BatchScope, Check
from sinergi.validate.suites import SUITES, suite_for

__all__ = ["SUITES", "BatchScope", "Check", "suite_for"]
