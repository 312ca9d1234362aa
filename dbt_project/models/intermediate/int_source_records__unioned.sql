{#- Every source record that describes a person, from every ministry source (not the reference
    ones), in one shape: normalised NIK and its final status, normalised name, gender, birth
    date, and the record's region resolved to BPS codes.

    nik_status is the staging classification, plus the check staging cannot make alone: a NIK
    whose district (PP.KK.CC) the BPS master does not know as a Kemendagri district, current
    or closed, is `inconsistent`.
    record_region_code is where the record places the person (KemenP2MI village of origin,
    UMKM business location, Parekraf province and regency names, the Kemenkop cooperative's
    village, the Kemendes activity village), as fine as known; nik_region_code is the
    district the NIK was registered in (valid NIKs only). home_region_code is the first of
    the two that is known. -#}
with

placements as (

    select * from {{ ref('stg_kp2mi__placements') }}

),

program_participants as (

    select * from {{ ref('stg_kp2mi__program_participants') }}

),

beneficiaries as (

    select * from {{ ref('stg_umkm__beneficiaries') }}

),

training_participants as (

    select * from {{ ref('stg_parekraf__training_participants') }}

),

members as (

    select * from {{ ref('stg_kemenkop__members') }}

),

activity_participants as (

    select * from {{ ref('stg_kemendes__activity_participants') }}

),

kemendagri_lookup as (

    select * from {{ ref('int_regions__kemendagri_lookup') }}

),

province_names as (

    select * from {{ ref('int_regions__province_name_lookup') }}

),

regency_names as (

    select * from {{ ref('int_regions__regency_name_lookup') }}

),

crosswalk as (

    select * from {{ ref('int_regions__crosswalk') }}

),

bps_codes as (

    select distinct region_code from crosswalk

),

unioned as (

    select
        'kp2mi_pmi' as source_system,
        placement_id as source_record_id,
        'KP2MI' as ministry,
        nik_recorded,
        nik_normalised as nik_sixteen_digits,
        nik_status as nik_status_staged,
        name_recorded,
        name_normalised,
        gender,
        birth_date,
        cast(null as integer) as birth_year_estimated,
        origin_kemendagri_code as region_kemendagri_code,
        cast(null as text) as region_bps_code,
        cast(null as text) as province_name_key,
        cast(null as text) as regency_name_key,
        updated_at,
        is_deleted
    from placements

    union all

    select
        'kp2mi_program' as source_system,
        participant_id as source_record_id,
        'KP2MI' as ministry,
        nik_recorded,
        nik_normalised as nik_sixteen_digits,
        nik_status as nik_status_staged,
        name_recorded,
        name_normalised,
        gender,
        birth_date,
        cast(null as integer) as birth_year_estimated,
        cast(null as text) as region_kemendagri_code,
        cast(null as text) as region_bps_code,
        cast(null as text) as province_name_key,
        cast(null as text) as regency_name_key,
        updated_at,
        is_deleted
    from program_participants

    union all

    select
        'umkm_penerima' as source_system,
        beneficiary_id as source_record_id,
        'UMKM' as ministry,
        nik_recorded,
        nik_normalised as nik_sixteen_digits,
        nik_status as nik_status_staged,
        name_recorded,
        name_normalised,
        gender,
        birth_date,
        cast(null as integer) as birth_year_estimated,
        cast(null as text) as region_kemendagri_code,
        region_bps_code,
        cast(null as text) as province_name_key,
        cast(null as text) as regency_name_key,
        updated_at,
        is_deleted
    from beneficiaries

    union all

    select
        'parekraf_pelatihan' as source_system,
        participant_id as source_record_id,
        'PAREKRAF' as ministry,
        nik_recorded,
        nik_normalised as nik_sixteen_digits,
        nik_status as nik_status_staged,
        name_recorded,
        name_normalised,
        gender,
        birth_date,
        cast(null as integer) as birth_year_estimated,
        cast(null as text) as region_kemendagri_code,
        cast(null as text) as region_bps_code,
        province_name_key,
        regency_name_key,
        updated_at,
        is_deleted
    from training_participants

    union all

    select
        'kemenkop_anggota' as source_system,
        member_record_id as source_record_id,
        'KEMENKOP' as ministry,
        nik_recorded,
        nik_normalised as nik_sixteen_digits,
        nik_status as nik_status_staged,
        name_recorded,
        name_normalised,
        gender,
        birth_date,
        cast(null as integer) as birth_year_estimated,
        cooperative_kemendagri_code as region_kemendagri_code,
        cast(null as text) as region_bps_code,
        cast(null as text) as province_name_key,
        cast(null as text) as regency_name_key,
        updated_at,
        is_deleted
    from members

    union all

    select
        'kemendes_kegiatan' as source_system,
        participant_record_id as source_record_id,
        'KEMENDES' as ministry,
        nik_recorded,
        nik_normalised as nik_sixteen_digits,
        nik_status as nik_status_staged,
        name_recorded,
        name_normalised,
        gender,
        cast(null as date) as birth_date,
        birth_year_estimated,
        village_kemendagri_code as region_kemendagri_code,
        cast(null as text) as region_bps_code,
        cast(null as text) as province_name_key,
        cast(null as text) as regency_name_key,
        updated_at,
        is_deleted
    from activity_participants

),

located as (

    select
        unioned.*,
        {{ nik_district_code('unioned.nik_sixteen_digits') }} as nik_district_kemendagri_code,
        nik_districts.region_code as nik_district_region_code,
        coalesce(
            record_kemendagri.region_code,
            record_bps.region_code,
            regency_in_province.regency_code,
            regency_nationwide.regency_code,
            record_province.province_code
        ) as record_region_code
    from unioned
    left join kemendagri_lookup as nik_districts
        on {{ nik_district_code('unioned.nik_sixteen_digits') }} = nik_districts.kemendagri_code
    left join kemendagri_lookup as record_kemendagri
        on unioned.region_kemendagri_code = record_kemendagri.kemendagri_code
    left join bps_codes as record_bps
        on unioned.region_bps_code = record_bps.region_code
    left join province_names as record_province
        on unioned.province_name_key = record_province.province_name_key
    left join regency_names as regency_in_province
        on record_province.province_code = regency_in_province.province_code
        and unioned.regency_name_key = regency_in_province.regency_name_key
    left join regency_names as regency_nationwide
        on regency_nationwide.province_code is null
        and unioned.regency_name_key = regency_nationwide.regency_name_key

),

classified as (

    select
        *,
        case
            when nik_status_staged = 'valid' and nik_district_region_code is null
                then 'inconsistent'
            else nik_status_staged
        end as nik_status
    from located

),

resolved as (

    select
        source_system,
        source_record_id,
        ministry,
        nik_recorded,
        case
            when nik_status in ('valid', 'inconsistent') then nik_sixteen_digits
        end as nik_normalised,
        nik_status,
        name_recorded,
        name_normalised,
        gender,
        birth_date,
        cast(coalesce(
            extract(year from birth_date),
            -- Kemendes records an age, not a birth date: a valid NIK's two-digit year picks
            -- between the two years the age allows
            case
                when nik_status = 'valid' and birth_year_estimated is not null
                    then case
                        when mod(birth_year_estimated, 100)
                            = cast(substr(nik_sixteen_digits, 11, 2) as integer)
                            then birth_year_estimated
                        else birth_year_estimated - 1
                    end
            end,
            birth_year_estimated
        ) as integer) as birth_year,
        record_region_code,
        case when nik_status = 'valid' then nik_district_region_code end as nik_region_code,
        coalesce(
            record_region_code,
            case when nik_status = 'valid' then nik_district_region_code end
        ) as home_region_code,
        updated_at,
        is_deleted
    from classified

),

final as (

    select
        *,
        case
            when length(home_region_code) >= 4 then left(home_region_code, 4)
        end as home_regency_code,
        left(home_region_code, 2) as home_province_code
    from resolved

)

select * from final
