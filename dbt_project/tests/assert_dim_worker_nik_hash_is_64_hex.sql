-- nik_hash is HMAC-SHA256, hex encoded: exactly 64 lower-case hex characters, or null when
-- no valid NIK is known. A failure means the hash macro changed or a raw NIK (or another
-- value) reached the column: check macros/marts/hmac_sha256.sql and dim_worker.
-- Two persons sharing a hash would mean two clusters share their best NIK (identity
-- resolution should have merged them): also a failure.
select
    worker_key,
    nik_hash,
    'not 64 hex characters' as problem
from {{ ref('dim_worker') }}
where
    nik_hash is not null
    and nik_hash !~ '^[0-9a-f]{64}$'
union all
select
    min(worker_key) as worker_key,
    nik_hash,
    'shared by ' || count(*) || ' workers' as problem
from {{ ref('dim_worker') }}
where nik_hash is not null
group by nik_hash
having count(*) > 1
