{#- Tumpang tindih, exactly as contracts/WAREHOUSE.md: pairs of one person's enrolments, both
    neither cancelled nor deleted (is_current), same category, different ministries, whose
    inclusive periods [start_date, end_date] intersect. An open end runs to the logical date;
    a closed end in the future counts as written. Sharing one day is an overlap. -#}

with

enrollments as (

    select * from {{ ref('fct_enrollment') }}

),

live_enrollments as (

    select
        enrollment_key,
        worker_key,
        ministry,
        category,
        start_date,
        coalesce(end_date, {{ marts_logical_date() }}) as effective_end_date
    from enrollments
    where
        is_current
        and status <> 'cancelled'
        and start_date is not null
        and worker_key is not null

),

pairs as (

    select
        enrollment_a.worker_key,
        enrollment_a.category,
        enrollment_a.enrollment_key as enrollment_key_a,
        enrollment_b.enrollment_key as enrollment_key_b,
        enrollment_a.ministry as ministry_a,
        enrollment_b.ministry as ministry_b,
        greatest(enrollment_a.start_date, enrollment_b.start_date) as overlap_start,
        least(enrollment_a.effective_end_date, enrollment_b.effective_end_date) as overlap_end
    from live_enrollments as enrollment_a
    inner join live_enrollments as enrollment_b
        on
            enrollment_a.worker_key = enrollment_b.worker_key
            and enrollment_a.category = enrollment_b.category
            and enrollment_a.ministry <> enrollment_b.ministry
            and enrollment_a.enrollment_key < enrollment_b.enrollment_key
            and enrollment_a.start_date <= enrollment_b.effective_end_date
            and enrollment_a.effective_end_date >= enrollment_b.start_date

),

final as (

    select
        cast({{ marts_surrogate_key(['enrollment_key_a', 'enrollment_key_b']) }} as text)
            as overlap_key,
        cast(worker_key as text) as worker_key,
        cast(category as text) as category,
        cast(enrollment_key_a as text) as enrollment_key_a,
        cast(enrollment_key_b as text) as enrollment_key_b,
        cast(ministry_a as text) as ministry_a,
        cast(ministry_b as text) as ministry_b,
        cast(overlap_start as date) as overlap_start,
        cast(overlap_end as date) as overlap_end,
        cast(
            {{ dbt.datediff('overlap_start', 'overlap_end', 'day') }} + 1 as integer
        ) as overlap_days
    from pairs
    where overlap_start <= overlap_end

)

select * from final
