{#- The identity of every source record: which person (worker_key) it belongs to.

    THE model identity resolution replaces. For now deterministic:
    - a record with a `valid` NIK -> worker_key derived from the NIK under the deployment's
      secret (session setting sinergi.pii_key), so it is stable across nights and rebuilds and
      does not reveal the NIK; match_method `nik_exact`, link_probability 1;
    - any other record -> a person of its own, worker_key derived from source_system and
      source_record_id; match_method `single_record`, link_probability 1.
    Probabilistic linkage (Splink) will later merge single records into NIK clusters
    (match_method `probabilistic`, link_probability < 1) without changing these columns. -#}
with

source_records as (

    select * from {{ ref('int_source_records__unioned') }}

),

final as (

    select
        source_system,
        source_record_id,
        ministry,
        nik_normalised,
        nik_status,
        name_normalised,
        gender,
        birth_date,
        birth_year,
        home_region_code,
        home_regency_code,
        home_province_code,
        updated_at,
        case
            when nik_status = 'valid' then {{ worker_key_from_nik('nik_normalised') }}
            else {{ worker_key_from_record('source_system', 'source_record_id') }}
        end as worker_key,
        case when nik_status = 'valid' then 'nik_exact' else 'single_record' end as match_method,
        cast(1 as numeric) as link_probability,
        is_deleted
    from source_records

)

select * from final
