{#- Restricted: worker_key to NIK(s), names and birth date, for case officers only (see the
    post-hook grants). One row per person; look a worker up with
    `where '<nik>' = any(niks)` or through nik_hash from the marts. -#}

with

identified_records as (

    select * from {{ ref('int_source_records__identified') }}

),

workers as (

    select * from {{ ref('dim_worker') }}

),

valid_niks as (

    select
        worker_key,
        nik_normalised,
        count(*) as record_count,
        max(updated_at) as last_updated_at
    from identified_records
    where
        nik_status = 'valid'
        and nik_normalised is not null
    group by worker_key, nik_normalised

),

best_niks as (

    select
        worker_key,
        nik_normalised
    from (
        select
            worker_key,
            nik_normalised,
            row_number() over (
                partition by worker_key
                order by record_count desc, last_updated_at desc nulls last, nik_normalised asc
            ) as nik_rank
        from valid_niks
    ) as ranked_niks
    where nik_rank = 1

),

ranked_records as (

    select
        worker_key,
        name_normalised,
        birth_date,
        row_number() over (
            partition by worker_key
            order by
                (name_normalised is null), updated_at desc nulls last, source_system asc,
                source_record_id asc
        ) as name_rank,
        row_number() over (
            partition by worker_key
            order by
                (birth_date is null), updated_at desc nulls last, source_system asc,
                source_record_id asc
        ) as birth_date_rank
    from identified_records

),

clusters as (

    select
        worker_key,
        array_agg(distinct nik_normalised order by nik_normalised)
        filter (where nik_normalised is not null) as niks,
        array_agg(distinct name_normalised order by name_normalised)
        filter (where name_normalised is not null) as names,
        array_agg(
            source_system || ':' || source_record_id
            order by source_system, source_record_id
        ) as source_records
    from identified_records
    group by worker_key

),

final as (

    select
        cast(clusters.worker_key as text) as worker_key,
        cast(workers.nik_hash as text) as nik_hash,
        cast(best_niks.nik_normalised as text) as nik,
        cast(coalesce(clusters.niks, cast(array[] as text[])) as text[]) as niks,
        cast(names.name_normalised as text) as name,
        cast(coalesce(clusters.names, cast(array[] as text[])) as text[]) as names,
        cast(birth_dates.birth_date as date) as birth_date,
        cast(clusters.source_records as text[]) as source_records
    from clusters
    left join workers
        on clusters.worker_key = workers.worker_key
    left join best_niks
        on clusters.worker_key = best_niks.worker_key
    left join ranked_records as names
        on
            clusters.worker_key = names.worker_key
            and names.name_rank = 1
    left join ranked_records as birth_dates
        on
            clusters.worker_key = birth_dates.worker_key
            and birth_dates.birth_date_rank = 1

)

select * from final
