{#- Regency names as Parekraf types them (`Kab. Cirebon`, `KABUPATEN CIREBON`, `Kota Cirebon`,
    `Cirebon`) to BPS regency codes. One row per (province_code, regency_name_key) that
    resolves to exactly one regency; province_code null for the nationwide fallback used when
    the province is missing or does not resolve.

    Rules, in order of preference within a province (or nationwide):
    1. the full name (`KABUPATEN CIREBON`, `KOTA CIREBON`; `KAB.` read as KABUPATEN,
       `ADMINISTRASI` ignored);
    2. a bare name (`CIREBON`) shared by a kabupaten and a kota: the kabupaten (a bare name
       is how kabupaten are usually referred to; cities are written with `Kota`);
    3. a bare name of a kota alone.
    Ties left at the best rank (the same bare name in two provinces, nationwide) resolve to
    nothing rather than to a guess. Current regencies only, plus closed ones whose code has
    no current version. -#}
with

crosswalk as (

    select * from {{ ref('int_regions__crosswalk') }}

),

regency_versions as (

    select
        *,
        row_number() over (
            partition by region_code order by is_current desc, valid_from desc
        ) as version_rank
    from crosswalk
    where level in ('KABUPATEN', 'KOTA')

),

regencies as (

    select
        region_code as regency_code,
        province_code,
        level,
        {{ regency_name_key('region_name') }} as full_name_key,
        {{ regency_bare_name('region_name') }} as bare_name_key
    from regency_versions
    where version_rank = 1

),

name_candidates as (

    select province_code, full_name_key as regency_name_key, regency_code, 1 as preference
    from regencies
    union all
    select
        province_code,
        bare_name_key as regency_name_key,
        regency_code,
        case when level = 'KABUPATEN' then 2 else 3 end as preference
    from regencies
    union all
    select null as province_code, full_name_key as regency_name_key, regency_code, 1 as preference
    from regencies
    union all
    select
        null as province_code,
        bare_name_key as regency_name_key,
        regency_code,
        case when level = 'KABUPATEN' then 2 else 3 end as preference
    from regencies

),

best_candidates as (

    select
        *,
        rank() over (
            partition by province_code, regency_name_key order by preference
        ) as preference_rank
    from name_candidates

),

resolved as (

    select
        province_code,
        regency_name_key,
        min(regency_code) as regency_code,
        min(preference) as preference,
        count(distinct regency_code) as candidate_count
    from best_candidates
    where preference_rank = 1
    group by province_code, regency_name_key

),

final as (

    select
        province_code,
        regency_name_key,
        regency_code,
        case preference
            when 1 then 'full_name'
            when 2 then 'bare_name_kabupaten'
            else 'bare_name_kota'
        end as resolution
    from resolved
    where candidate_count = 1

)

select * from final
