{#- Programme reach per regency x month x category, from the first month with an enrolment
    start or a return to the month of the logical date. Workers are placed in their home
    regency (dim_worker); an enrolment in the regency of its region_code, or its worker's
    home regency when the enrolment's region is coarser than a regency or unknown. Only live
    enrolments (is_current: neither cancelled nor deleted) count. Cumulative figures are
    running sums over monthly events, so the model stays linear in the number of events. -#}

with

workers as (

    select * from {{ ref('dim_worker') }}

),

enrollments as (

    select * from {{ ref('fct_enrollment') }}

),

enrollment_overlaps as (

    select * from {{ ref('fct_enrollment_overlap') }}

),

placements as (

    select * from {{ ref('int_placements__latest') }}

),

bridge as (

    select * from {{ ref('bridge_worker_source_record') }}

),

programs as (

    select * from {{ ref('dim_program') }}

),

population as (

    select * from {{ ref('stg_bps__regency_population') }}

),

-- a worker counts as a returnee of their home regency from their first return on
first_returns as (

    select
        bridge.worker_key,
        workers.home_regency_code as regency_code,
        min(placements.return_date) as first_return_date
    from placements
    inner join bridge
        on
            bridge.source_system = 'kp2mi_pmi'
            and placements.source_record_id = bridge.source_record_id
    inner join workers
        on bridge.worker_key = workers.worker_key
    where
        placements.migrant_status = 'returned'
        and placements.return_date is not null
        and placements.return_date <= {{ marts_logical_date() }}
        and not coalesce(placements.is_deleted, false)
        and workers.home_regency_code is not null
    group by bridge.worker_key, workers.home_regency_code

),

live_enrollments as (

    select
        enrollments.worker_key,
        enrollments.category,
        enrollments.start_date,
        coalesce(
            case
                when length(enrollments.region_code) >= 4 then left(enrollments.region_code, 4)
            end,
            workers.home_regency_code
        ) as regency_code,
        coalesce(enrollments.end_date, {{ marts_logical_date() }}) as effective_end_date
    from enrollments
    left join workers
        on enrollments.worker_key = workers.worker_key
    where
        enrollments.is_current
        and enrollments.status <> 'cancelled'
        and enrollments.start_date is not null
        and enrollments.start_date <= {{ marts_logical_date() }}

),

bounds as (

    select min(first_date) as first_date
    from (
        select min(start_date) as first_date from live_enrollments
        union all
        select min(first_return_date) as first_date from first_returns
    ) as firsts

),

months as (

    select months.month
    from (
        {{ marts_month_spine('(select coalesce(first_date, ' ~ marts_logical_date() ~ ') from bounds)',
            marts_logical_date()) }}
    ) as months

),

categories as (

    select distinct category from programs

),

regencies as (

    select regency_code from first_returns
    union
    select regency_code from live_enrollments
    where regency_code is not null

),

grid as (

    select
        regencies.regency_code,
        months.month,
        categories.category
    from regencies
    cross join months
    cross join categories

),

-- returnees: new per month, summed over months below
returnee_events as (

    select
        regency_code,
        cast(date_trunc('month', first_return_date) as date) as month,
        count(*) as new_returnees
    from first_returns
    group by 1, 2

),

-- a returnee is enrolled in a category from the later of their first return and their first
-- enrolment in it
first_category_enrollments as (

    select
        worker_key,
        category,
        min(start_date) as first_start_date
    from live_enrollments
    group by worker_key, category

),

returnee_enrolled_events as (

    select
        first_returns.regency_code,
        first_category_enrollments.category,
        cast(date_trunc('month', greatest(
            first_returns.first_return_date,
            first_category_enrollments.first_start_date
        )) as date) as month,
        count(*) as new_enrolled_returnees
    from first_returns
    inner join first_category_enrollments
        on first_returns.worker_key = first_category_enrollments.worker_key
    group by 1, 2, 3

),

-- active enrolments: +1 in the month an enrolment starts, -1 in the month after it ends
enrollment_events as (

    select
        regency_code,
        category,
        month,
        sum(change) as net_change
    from (
        select
            regency_code,
            category,
            cast(date_trunc('month', start_date) as date) as month,
            1 as change
        from live_enrollments
        where
            regency_code is not null
            and effective_end_date >= start_date
        union all
        select
            regency_code,
            category,
            cast(date_trunc('month', effective_end_date) + interval '1 month' as date) as month,
            -1 as change
        from live_enrollments
        where
            regency_code is not null
            and effective_end_date >= start_date
    ) as changes
    group by 1, 2, 3

),

overlap_workers as (

    select
        workers.home_regency_code as regency_code,
        enrollment_overlaps.category,
        months.month,
        count(distinct enrollment_overlaps.worker_key) as overlap_workers
    from enrollment_overlaps
    inner join workers
        on enrollment_overlaps.worker_key = workers.worker_key
    inner join months
        on
            enrollment_overlaps.overlap_end >= months.month
            and {{ marts_month_end('months.month') }} >= enrollment_overlaps.overlap_start
    where workers.home_regency_code is not null
    group by 1, 2, 3

),

-- the BPS figure of the month's year, or the latest published before it
population_years as (

    select distinct cast(extract(year from month) as integer) as year from months

),

population_by_year as (

    select
        regency_code,
        year,
        working_age_population
    from (
        select
            population.regency_code,
            population_years.year,
            population.working_age_population,
            row_number() over (
                partition by population.regency_code, population_years.year
                order by population.year desc
            ) as figure_rank
        from population
        inner join population_years
            on population.year <= population_years.year
    ) as ranked_figures
    where figure_rank = 1

),

counted as (

    select
        grid.regency_code,
        grid.month,
        grid.category,
        sum(coalesce(returnee_events.new_returnees, 0)) over regency_months
            as returnees_cumulative,
        sum(coalesce(returnee_enrolled_events.new_enrolled_returnees, 0)) over regency_months
            as returnees_enrolled,
        sum(coalesce(enrollment_events.net_change, 0)) over regency_months
            as active_enrollments,
        coalesce(overlap_workers.overlap_workers, 0) as overlap_workers
    from grid
    left join returnee_events
        on
            grid.regency_code = returnee_events.regency_code
            and grid.month = returnee_events.month
    left join returnee_enrolled_events
        on
            grid.regency_code = returnee_enrolled_events.regency_code
            and grid.category = returnee_enrolled_events.category
            and grid.month = returnee_enrolled_events.month
    left join enrollment_events
        on
            grid.regency_code = enrollment_events.regency_code
            and grid.category = enrollment_events.category
            and grid.month = enrollment_events.month
    left join overlap_workers
        on
            grid.regency_code = overlap_workers.regency_code
            and grid.category = overlap_workers.category
            and grid.month = overlap_workers.month
    window regency_months as (
        partition by grid.regency_code, grid.category
        order by grid.month
        rows between unbounded preceding and current row
    )

),

final as (

    select
        cast(counted.regency_code as text) as regency_code,
        cast(counted.month as date) as month,
        cast(counted.category as text) as category,
        cast(counted.returnees_cumulative as integer) as returnees_cumulative,
        cast(counted.returnees_enrolled as integer) as returnees_enrolled,
        cast(
            round(counted.returnees_enrolled / nullif(counted.returnees_cumulative, 0.0), 4)
            as numeric
        ) as coverage_rate,
        cast(counted.overlap_workers as integer) as overlap_workers,
        cast(population_by_year.working_age_population as bigint) as population_working_age,
        cast(
            round(
                counted.active_enrollments * 10000.0
                / nullif(population_by_year.working_age_population, 0), 2
            )
            as numeric
        ) as enrollments_per_10k_working_age
    from counted
    left join population_by_year
        on
            counted.regency_code = population_by_year.regency_code
            and population_by_year.year = extract(year from counted.month)

)

select * from final
