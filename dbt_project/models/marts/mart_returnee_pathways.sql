{#- "Pulang juragan": one row per returned migrant worker (a live placement with status
    returned), from the latest return. Programmes after the return are the person's
    enrolments that start strictly after the return date and are neither cancelled nor
    deleted (is_current); registered enrolments count. The 12-month flags look at starts in
    (return_date, return_date + 365 days]. -#}

with

placements as (

    select * from {{ ref('int_placements__latest') }}

),

bridge as (

    select * from {{ ref('bridge_worker_source_record') }}

),

workers as (

    select * from {{ ref('dim_worker') }}

),

enrollments as (

    select * from {{ ref('fct_enrollment') }}

),

returns as (

    select
        bridge.worker_key,
        max(placements.return_date) as return_date
    from placements
    inner join bridge
        on
            bridge.source_system = 'kp2mi_pmi'
            and placements.source_record_id = bridge.source_record_id
    where
        placements.migrant_status = 'returned'
        and placements.return_date is not null
        and not coalesce(placements.is_deleted, false)
    group by bridge.worker_key

),

enrollments_after_return as (

    select
        returns.worker_key,
        enrollments.ministry,
        enrollments.category,
        enrollments.start_date,
        {{ dbt.datediff('returns.return_date', 'enrollments.start_date', 'day') }}
            as days_after_return
    from returns
    inner join enrollments
        on
            returns.worker_key = enrollments.worker_key
            and returns.return_date < enrollments.start_date
    where
        enrollments.is_current
        and enrollments.status <> 'cancelled'

),

pathways as (

    select
        worker_key,
        min(start_date) as first_program_date_after_return,
        min(days_after_return) as days_to_first_program,
        array_agg(distinct category order by category) as categories_after_return,
        count(distinct ministry) as ministries_after_return,
        bool_or(category = 'financing' and days_after_return <= 365) as got_financing_within_12m,
        bool_or(category = 'training' and days_after_return <= 365) as got_training_within_12m
    from enrollments_after_return
    group by worker_key

),

final as (

    select
        cast(returns.worker_key as text) as worker_key,
        cast(returns.return_date as date) as return_date,
        cast(workers.home_regency_code as text) as home_regency_code,
        cast(pathways.first_program_date_after_return as date) as first_program_date_after_return,
        cast(pathways.days_to_first_program as integer) as days_to_first_program,
        cast(coalesce(pathways.categories_after_return, cast(array[] as text[])) as text[])
            as categories_after_return,
        cast(coalesce(pathways.ministries_after_return, 0) as integer) as ministries_after_return,
        coalesce(pathways.got_financing_within_12m, false) as got_financing_within_12m,
        coalesce(pathways.got_training_within_12m, false) as got_training_within_12m
    from returns
    left join workers
        on returns.worker_key = workers.worker_key
    left join pathways
        on returns.worker_key = pathways.worker_key

)

select * from final
