{#- Province names as typed (`Jawa Barat`, `JAWA BARAT`, `Provinsi Jawa Barat`,
    `Prov. Jawa Barat`) to BPS province codes. -#}
with

crosswalk as (

    select * from {{ ref('int_regions__crosswalk') }}

),

provinces as (

    select
        {{ province_name_key('region_name') }} as province_name_key,
        region_code as province_code,
        row_number() over (
            partition by {{ province_name_key('region_name') }}
            order by is_current desc, valid_from desc, region_code
        ) as version_rank
    from crosswalk
    where level = 'PROVINSI'

),

final as (

    select province_name_key, province_code
    from provinces
    where version_rank = 1

)

select * from final
