"""Identity resolution: which source records are one person, with keys that stay put.

The step runs between two halves of the dbt build: dbt builds staging and
``intermediate.int_source_records__unioned`` (every person-describing record, normalised),
this package links those records into people and writes the assignment to the ``identity``
schema, and dbt's ``int_source_records__identified`` and everything after it read it.

Where each part lives:

* ``features``  what is compared: the records copied into DuckDB, with the parts of a damaged
  NIK that survive (district, birth date, all but one digit) and the name's tokens;
* ``model``     the Splink model: comparisons, blocking rules, the trained parameters
  (``models/identity-v<N>.json``, retrained only by ``sinergi identity train``);
* ``graph``     pure functions: clusters from links, and the stable-key rule;
* ``store``     the identity schema in PostgreSQL (state between nights, review queue, metrics);
* ``resolve``   the nightly step: link what changed against what exists, cluster, keep keys;
* ``monitor``   linkage measures per night and source, checked for sudden changes;
* ``evaluate``  precision and recall against a simulated world's truth, with baselines.
"""
