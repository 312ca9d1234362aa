"""What identity resolution compares: the records, copied from PostgreSQL into DuckDB.

Splink runs on DuckDB (its PostgreSQL backend lacks the string similarity functions), so the
nightly step copies ``intermediate.int_source_records__unioned`` once, with ``COPY ... TO
STDOUT`` into a CSV file DuckDB reads in bulk (no per-row Python), and derives the comparison
columns there in SQL.

A damaged NIK is never a key by itself (the deterministic layer uses valid NIKs only), but
what survives of it still tells who someone is:

* ``nik_digits``   the recorded digits when 14 to 18 of them are left (a dropped or doubled
  digit, a transposition, zeroed serial digits): compared by edit distance;
* ``nik_head12``   district and birth date (the first 12 of 16 digits): blocks records whose
  NIKs differ only in the serial, e.g. a float round trip that zeroed the tail;
* ``nik_regency``  the first 4 digits, also of spreadsheet notation (``3,27301E+15`` keeps
  six significant digits, the sixth possibly rounded, so only four are trusted).

Names arrive normalised by staging (titles and degrees stripped, MUHAMMAD variants and the old
spellings oe/dj/tj mapped); here they are also split into tokens, sorted (order swaps) and
reduced to first and last token (blocking). ``name_plain`` is the name as recorded, only
upper-cased and trimmed: the "no Indonesian normalisation" baseline of the evaluation.
"""

from __future__ import annotations

import os
import tempfile

import psycopg

UNIONED_TABLE = "intermediate.int_source_records__unioned"

# DuckDB takes up to 80% of the machine's memory by default: at 1M persons one full link grew
# to 5.3 GB. Bounded, it spills its joins and sorts to disk instead of growing.
MEMORY_LIMIT_ENV = "SINERGI_IDENTITY_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"


def open_duckdb():
    """The in-memory DuckDB of one identity run, its memory bounded by
    ``$SINERGI_IDENTITY_MEMORY_LIMIT`` (DuckDB's syntax, default 2GB), spilling to the system's
    temporary directory."""
    import duckdb

    return duckdb.connect(
        config={
            "memory_limit": os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT,
            "temp_directory": os.path.join(tempfile.gettempdir(), "sinergi-identity-spill"),
        }
    )


# The columns read from PostgreSQL, with their DuckDB types (the CSV carries no types).
SOURCE_COLUMNS: dict[str, str] = {
    "source_system": "VARCHAR",
    "source_record_id": "VARCHAR",
    "nik_recorded": "VARCHAR",
    "nik_normalised": "VARCHAR",
    "nik_status": "VARCHAR",
    "name_recorded": "VARCHAR",
    "name_normalised": "VARCHAR",
    "gender": "VARCHAR",
    "birth_date": "DATE",
    "birth_year": "INTEGER",
    "home_regency_code": "VARCHAR",
    "home_province_code": "VARCHAR",
    "is_deleted": "BOOLEAN",
}

# Derived in DuckDB from the table `source_records` (SOURCE_COLUMNS) into `records`.
FEATURES_SQL = r"""
create or replace table records as
with prepared as (
    select
        *,
        regexp_matches(coalesce(nik_recorded, ''), '[eE][+]?[0-9]|,') as nik_is_notation,
        regexp_replace(coalesce(nik_recorded, ''), '[^0-9]', '', 'g') as nik_all_digits,
        list_filter(
            string_split(trim(coalesce(name_normalised, '')), ' '), lambda token: token <> ''
        ) as name_tokens
    from source_records
)
select
    source_system || ':' || source_record_id as unique_id,
    source_system,
    source_record_id,
    nik_status,
    case when nik_status = 'valid' then nik_normalised end as nik_valid,
    case
        when not nik_is_notation and length(nik_all_digits) between 14 and 18
            then nik_all_digits
    end as nik_digits,
    case
        when not nik_is_notation and length(nik_all_digits) = 16 then left(nik_all_digits, 12)
    end as nik_head12,
    case
        when nik_is_notation and length(regexp_replace(
            regexp_extract(nik_recorded, '^[^eE]*'), '[^0-9]', '', 'g')) >= 5
            then left(regexp_replace(regexp_extract(nik_recorded, '^[^eE]*'), '[^0-9]', '', 'g'), 4)
        when not nik_is_notation and length(nik_all_digits) >= 14 then left(nik_all_digits, 4)
    end as nik_regency,
    nullif(trim(name_normalised), '') as name,
    case when len(name_tokens) > 0 then name_tokens end as name_tokens,
    nullif(array_to_string(list_sort(name_tokens), ' '), '') as name_sorted,
    name_tokens[1] as name_first,
    case when len(name_tokens) > 1 then name_tokens[-1] end as name_last,
    nullif(upper(regexp_replace(trim(coalesce(name_recorded, '')), '\s+', ' ', 'g')), '')
        as name_plain,
    gender,
    birth_date,
    birth_year,
    home_regency_code as regency,
    home_province_code as province,
    is_deleted
from prepared
"""


def copy_records(conn: psycopg.Connection, duck, table: str = UNIONED_TABLE) -> int:
    """Copy the records into DuckDB table ``records`` with their features; the row count."""
    from sinergi.identity.store import copy_to_duckdb

    columns = ", ".join(SOURCE_COLUMNS)
    copy_to_duckdb(conn, duck, f"SELECT {columns} FROM {table}", "source_records", SOURCE_COLUMNS)
    duck.execute(FEATURES_SQL)
    return duck.execute("select count(*) from records").fetchall()[0][0]
