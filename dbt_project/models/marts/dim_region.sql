with

regions as (

    select * from {{ ref('int_regions__crosswalk') }}

),

final as (

    select
        cast(region_code as text) as region_code,
        cast(kemendagri_code as text) as kemendagri_code,
        cast(region_name as text) as region_name,
        cast(level as text) as level,
        cast(parent_code as text) as parent_code,
        cast(province_code as text) as province_code,
        cast(regency_code as text) as regency_code,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        cast(is_current as boolean) as is_current
    from regions

)

select * from final
