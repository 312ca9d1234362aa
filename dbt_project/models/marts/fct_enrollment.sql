{#- One row per person per programme enrolment (the enrolments of the interface, with the
    person of their source record). Deleted and cancelled enrolments stay, is_current false. -#}

with

enrollments as (

    select * from {{ ref('int_enrollments__unioned') }}

),

identified_records as (

    select * from {{ ref('int_source_records__identified') }}

),

final as (

    select
        cast(enrollments.enrollment_key as text) as enrollment_key,
        cast(identified_records.worker_key as text) as worker_key,
        cast(
            {{ marts_surrogate_key(['enrollments.ministry', 'enrollments.program_code']) }}
            as text
        ) as program_key,
        cast(enrollments.ministry as text) as ministry,
        cast(enrollments.category as text) as category,
        cast(enrollments.source_system as text) as source_system,
        cast(enrollments.source_record_id as text) as source_record_id,
        cast(enrollments.start_date as date) as start_date,
        cast(enrollments.end_date as date) as end_date,
        cast(enrollments.status as text) as status,
        cast(enrollments.amount_idr as bigint) as amount_idr,
        cast(enrollments.region_code as text) as region_code,
        cast(
            coalesce(enrollments.is_current, true)
            and not coalesce(enrollments.is_deleted, false)
            and not coalesce(enrollments.is_cancelled, false)
            and enrollments.status is distinct from 'cancelled'
            as boolean
        ) as is_current
    from enrollments
    left join identified_records
        on
            enrollments.source_system = identified_records.source_system
            and enrollments.source_record_id = identified_records.source_record_id

)

select * from final
