{#- One row per Kemendagri code the BPS master knows (current or closed): the BPS region it
    is, and the current BPS region to use for it. A code with a current version maps to that;
    a code only found on closed rows (a district moved by a split, or a code of a NIK that
    predates the split) maps to its closed BPS row, and then to that row's successor when BPS
    names exactly one (one hop; several successors: the closed code is kept). -#}
with

crosswalk as (

    select * from {{ ref('int_regions__crosswalk') }}

),

ranked_versions as (

    select
        *,
        row_number() over (
            partition by kemendagri_code
            order by is_current desc, valid_from desc, region_code
        ) as version_rank
    from crosswalk
    where kemendagri_code is not null

),

best_version as (

    select * from ranked_versions where version_rank = 1

),

current_codes as (

    select distinct region_code from crosswalk where is_current

),

final as (

    select
        best_version.kemendagri_code,
        best_version.region_code as matched_region_code,
        best_version.level,
        best_version.is_current as is_matched_region_current,
        case
            when best_version.is_current then best_version.region_code
            when best_version.successor_codes is not null
                and strpos(best_version.successor_codes, '|') = 0
                and successor.region_code is not null
                then successor.region_code
            else best_version.region_code
        end as region_code
    from best_version
    left join current_codes as successor
        on best_version.successor_codes = successor.region_code

)

select
    kemendagri_code,
    matched_region_code,
    level,
    is_matched_region_current,
    region_code,
    left(region_code, 2) as province_code,
    case when length(region_code) >= 4 then left(region_code, 4) end as regency_code
from final
