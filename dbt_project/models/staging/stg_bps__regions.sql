{#- The BPS region master as published in the latest accepted monthly file (each file is the
    full master, every region version, open and closed). -#}
with

source as (

    {{ accepted_source_rows('bps_wilayah') }}

),

renamed as (

    select
        trim(kode_bps) as region_code,
        {{ kemendagri_dotted('kode_kemendagri') }} as kemendagri_code,
        {{ blank_to_null('nama_wilayah') }} as region_name,
        upper(trim(tingkat)) as level,
        {{ blank_to_null('kode_bps_induk') }} as parent_code,
        {{ parse_date('berlaku_sejak', 'iso') }} as valid_from,
        {{ parse_date('berlaku_sampai', 'iso') }} as valid_to,
        {{ blank_to_null('kode_bps_pengganti') }} as successor_codes,
        _batch_id as batch_id,
        _batch_logical_date as batch_logical_date,
        _source_row_number as source_row_number

    from source

),

latest_file as (

    select
        *,
        max(batch_logical_date) over () as latest_batch_logical_date
    from renamed

),

final as (

    select
        region_code,
        kemendagri_code,
        region_name,
        level,
        parent_code,
        left(region_code, 2) as province_code,
        case when length(region_code) >= 4 then left(region_code, 4) end as regency_code,
        case when length(region_code) >= 7 then left(region_code, 7) end as district_code,
        valid_from,
        valid_to,
        successor_codes,
        valid_to is null as is_current,
        batch_id,
        batch_logical_date
    from latest_file
    where batch_logical_date = latest_batch_logical_date

)

select * from final
