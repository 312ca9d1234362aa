-- PII boundary: the marts schema has no column that by its name holds NIK, names or birth
-- dates (contracts/WAREHOUSE.md: pseudonymous, NIK only as nik_hash). A failure names the
-- table and column; such data belongs in restricted.worker_identity.
-- depends_on: {{ ref('dim_worker') }}
select
    table_name,
    column_name
from information_schema.columns
where
    table_schema = '{{ ref("dim_worker").schema }}'
    and (
        column_name in (
            'nik', 'niks', 'nik_normalised', 'name', 'names', 'name_normalised',
            'birth_date', 'nama', 'tanggal_lahir'
        )
        or column_name like '%birth_date%'
        or (column_name like '%nik%' and column_name <> 'nik_hash')
    )
