{#- One row per KemenP2MI placement in its latest version. A placement is not an enrolment:
    it makes its person a migrant worker (status, departure, return). -#}
with

placements as (

    select * from {{ ref('stg_kp2mi__placements') }}

),

final as (

    select
        placement_id as source_record_id,
        migrant_status,
        departure_date,
        return_date,
        destination_country,
        sector,
        scheme,
        is_cancelled,
        is_deleted,
        updated_at
    from placements

)

select * from final
