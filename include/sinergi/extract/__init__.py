"""Extract: get each ministry's delivery for a business day, independent of Airflow.

- ``window``: the business day of a run, the API window and file-drop deadlines (WIB).
- ``kp2mi``: page through the KemenP2MI REST API into a JSONL file (retries, rate limit,
  paging checks); the Airflow connection only supplies the session.
- ``file_drop``: what a file sensor checks on each poke, and the verdict after the deadline.

Importing this package imports none of them: the DAG files need only ``window``, and
``kp2mi`` (requests) and ``file_drop`` (the parsers, openpyxl) would add to their parse time.
Import the module you need.
"""
