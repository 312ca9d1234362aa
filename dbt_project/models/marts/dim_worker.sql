{#- One row per harmonised person (worker_key of the identity interface). nik_hash is the
    HMAC-SHA256 of the cluster's best valid NIK under session setting sinergi.pii_key (the
    pre-hook fails the model when it is not set). -#}

with

identified_records as (

    select * from {{ ref('int_source_records__identified') }}

),

placements as (

    select * from {{ ref('int_placements__latest') }}

),

hmac_pads as (

    {{ marts_hmac_key_pads(marts_pii_key()) }}

),

-- best valid NIK: the one most records of the cluster carry, then the most recently
-- updated, then the smallest (deterministic)
valid_niks as (

    select
        worker_key,
        nik_normalised,
        count(*) as record_count,
        max(updated_at) as last_updated_at
    from identified_records
    where nik_status = 'valid'
        and nik_normalised is not null
    group by worker_key, nik_normalised

),

best_niks as (

    select
        worker_key,
        nik_normalised,
        row_number() over (
            partition by worker_key
            order by record_count desc, last_updated_at desc nulls last, nik_normalised
        ) as nik_rank
    from valid_niks

),

-- attributes: the most recently updated record that knows them
ranked_genders as (

    select
        worker_key,
        gender,
        row_number() over (
            partition by worker_key
            order by updated_at desc nulls last, source_system, source_record_id
        ) as attribute_rank
    from identified_records
    where gender in ('F', 'M')

),

ranked_birth_years as (

    select
        worker_key,
        birth_year,
        row_number() over (
            partition by worker_key
            order by updated_at desc nulls last, source_system, source_record_id
        ) as attribute_rank
    from identified_records
    where birth_year is not null

),

ranked_homes as (

    select
        worker_key,
        home_province_code,
        home_regency_code,
        row_number() over (
            partition by worker_key
            order by (home_regency_code is null), updated_at desc nulls last, source_system,
                source_record_id
        ) as attribute_rank
    from identified_records
    where home_regency_code is not null or home_province_code is not null

),

clusters as (

    select
        worker_key,
        array_agg(distinct source_system order by source_system) as source_systems,
        count(*) as source_record_count,
        bool_or(match_method = 'probabilistic') as has_probabilistic_link,
        min(link_probability) as lowest_link_probability
    from identified_records
    group by worker_key

),

-- a placement belongs to the person of its kp2mi_pmi record; tombstoned ones do not count
worker_placements as (

    select
        identified_records.worker_key,
        placements.source_record_id,
        placements.migrant_status,
        placements.departure_date,
        placements.return_date,
        placements.updated_at
    from placements
    inner join identified_records
        on identified_records.source_system = 'kp2mi_pmi'
        and identified_records.source_record_id = placements.source_record_id
    where not coalesce(placements.is_deleted, false)

),

-- latest placement: most recently updated, then latest departure, then id
latest_placements as (

    select
        worker_key,
        migrant_status,
        row_number() over (
            partition by worker_key
            order by updated_at desc nulls last, departure_date desc nulls first,
                source_record_id desc
        ) as placement_rank
    from worker_placements

),

placement_summary as (

    select
        worker_key,
        min(departure_date) as first_departure_date,
        max(return_date) as last_return_date
    from worker_placements
    group by worker_key

),

final as (

    select
        cast(clusters.worker_key as text) as worker_key,
        cast(
            case
                when best_niks.nik_normalised is not null
                    then {{ marts_hmac_sha256_hex_with_pads('best_niks.nik_normalised',
                        'hmac_pads.inner_pad', 'hmac_pads.outer_pad') }}
            end as text
        ) as nik_hash,
        cast(ranked_genders.gender as text) as gender,
        cast(ranked_birth_years.birth_year as integer) as birth_year,
        cast(
            coalesce(ranked_homes.home_province_code, left(ranked_homes.home_regency_code, 2))
            as text
        ) as home_province_code,
        cast(ranked_homes.home_regency_code as text) as home_regency_code,
        latest_placements.worker_key is not null as is_migrant_worker,
        cast(latest_placements.migrant_status as text) as migrant_status,
        cast(placement_summary.first_departure_date as date) as first_departure_date,
        cast(placement_summary.last_return_date as date) as last_return_date,
        cast(clusters.source_systems as text []) as source_systems,
        cast(clusters.source_record_count as integer) as source_record_count,
        cast(
            case
                when clusters.has_probabilistic_link then 'probabilistic'
                when clusters.source_record_count = 1 then 'single_record'
                else 'nik_exact'
            end as text
        ) as match_method,
        cast(
            case
                when clusters.has_probabilistic_link
                    then coalesce(clusters.lowest_link_probability, 0)
                else 1
            end as numeric
        ) as match_confidence
    from clusters
    cross join hmac_pads
    left join best_niks
        on best_niks.worker_key = clusters.worker_key
        and best_niks.nik_rank = 1
    left join ranked_genders
        on ranked_genders.worker_key = clusters.worker_key
        and ranked_genders.attribute_rank = 1
    left join ranked_birth_years
        on ranked_birth_years.worker_key = clusters.worker_key
        and ranked_birth_years.attribute_rank = 1
    left join ranked_homes
        on ranked_homes.worker_key = clusters.worker_key
        and ranked_homes.attribute_rank = 1
    left join latest_placements
        on latest_placements.worker_key = clusters.worker_key
        and latest_placements.placement_rank = 1
    left join placement_summary
        on placement_summary.worker_key = clusters.worker_key

)

select * from final
