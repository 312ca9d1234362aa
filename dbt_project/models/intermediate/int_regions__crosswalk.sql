{#- The BPS master as the crosswalk between BPS and Kemendagri codes: one row per region
    version (current and closed), from the latest monthly master. -#}
with

regions as (

    select * from {{ ref('stg_bps__regions') }}

),

final as (

    select
        region_code,
        kemendagri_code,
        region_name,
        level,
        parent_code,
        province_code,
        regency_code,
        valid_from,
        valid_to,
        successor_codes,
        is_current
    from regions

)

select * from final
