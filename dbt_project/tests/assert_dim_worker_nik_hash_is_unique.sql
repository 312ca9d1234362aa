{{ config(severity='warn') }}
-- Two persons whose best NIK is the same. Usually identity resolution merges them; it keeps
-- them apart when their pair waits in the review queue, when a case officer decided
-- `different`, or when one NIK really was issued to (or typed for) two people. None of these
-- breaks the contract (WAREHOUSE.md does not make nik_hash unique), so this warns: a growing
-- count is worth a look at restricted.match_review. First seen at 1M persons (5 pairs).
select
    min(worker_key) as worker_key,
    count(*) as workers
from {{ ref('dim_worker') }}
where nik_hash is not null
group by nik_hash
having count(*) > 1
