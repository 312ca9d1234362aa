{#- BPS population per regency and year: every published year is kept; for a year published
    more than once, the latest accepted file wins. -#}
with

source as (

    {{ accepted_source_rows('bps_penduduk') }}

),

renamed as (

    select
        trim(kode_bps) as regency_code,
        {{ parse_integer('tahun') }} as year,
        {{ parse_rupiah('jumlah_penduduk') }} as population,
        {{ parse_rupiah('penduduk_usia_kerja') }} as working_age_population,
        _batch_id as batch_id,
        _batch_logical_date as batch_logical_date,
        _source_row_number as source_row_number

    from source

),

ranked as (

    select
        *,
        {{ version_rank('regency_code, year') }} as version_rank
    from renamed

),

final as (

    select
        regency_code,
        left(regency_code, 2) as province_code,
        year,
        population,
        working_age_population,
        batch_id,
        batch_logical_date
    from ranked
    where version_rank = 1

)

select * from final
