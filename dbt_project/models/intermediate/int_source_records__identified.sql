{#- The identity of every source record: which person (worker_key) it belongs to.

    Identity resolution (include/sinergi/identity, docs/IDENTITY.md) runs between the two
    halves of the build: it reads int_source_records__unioned, links records into people
    (valid NIKs exactly, everything else with the Splink model) and keeps each record's key in
    the pipeline state table identity.record; this model puts that key beside the record.
    A record without a key means the identity step has not run since the record arrived: the
    not_null test on worker_key stops the build there instead of publishing a person too many. -#}
with

source_records as (

    select * from {{ ref('int_source_records__unioned') }}

),

identities as (

    select * from {{ source('identity', 'record') }}

),

final as (

    select
        source_records.source_system,
        source_records.source_record_id,
        source_records.ministry,
        source_records.nik_normalised,
        source_records.nik_status,
        source_records.name_normalised,
        source_records.gender,
        source_records.birth_date,
        source_records.birth_year,
        source_records.home_region_code,
        source_records.home_regency_code,
        source_records.home_province_code,
        source_records.updated_at,
        identities.worker_key,
        identities.match_method,
        identities.link_probability,
        source_records.is_deleted
    from source_records
    left join identities
        on source_records.source_system = identities.source_system
        and source_records.source_record_id = identities.source_record_id

)

select * from final
