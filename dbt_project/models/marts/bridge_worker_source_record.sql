with

identified_records as (

    select * from {{ ref('int_source_records__identified') }}

),

final as (

    select
        cast(worker_key as text) as worker_key,
        cast(source_system as text) as source_system,
        cast(source_record_id as text) as source_record_id,
        cast(link_probability as numeric) as link_probability
    from identified_records

)

select * from final
