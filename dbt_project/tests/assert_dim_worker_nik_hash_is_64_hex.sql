-- nik_hash is HMAC-SHA256, hex encoded: exactly 64 lower-case hex characters, or null when
-- no valid NIK is known. A failure means the hash macro changed or a raw NIK (or another
-- value) reached the column: check macros/marts/hmac_sha256.sql and dim_worker.
select
    worker_key,
    nik_hash
from {{ ref('dim_worker') }}
where
    nik_hash is not null
    and nik_hash !~ '^[0-9a-f]{64}$'
