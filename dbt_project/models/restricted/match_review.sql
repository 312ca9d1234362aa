{#- The identity review queue for case officers (docs/IDENTITY.md, "Review loop"): pairs of
    source records the model could not decide (probability between the review and the link
    threshold). A case officer sets decision to 'same' or 'different' (with decided_by,
    decided_at, note); every later night honours it.

    A plain single-table view on purpose, no CTE: PostgreSQL can then update through it, so
    the decision lands in identity.match_review, the pipeline's own table, which no rebuild of
    the dbt schemas touches. -#}
{{ config(materialized='view') }}

select
    unique_id_l,
    unique_id_r,
    source_system_l,
    source_record_id_l,
    source_system_r,
    source_record_id_r,
    match_probability,
    queued_night,
    decision,
    decided_by,
    decided_at,
    note
from {{ source('identity', 'match_review') }}
