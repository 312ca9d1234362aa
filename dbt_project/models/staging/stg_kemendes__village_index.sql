{#- Indeks Desa Membangun of the latest published year: one row per village (Kemendagri code). -#}
with

source as (

    {{ accepted_source_rows('kemendes_idm') }}

),

renamed as (

    select
        {{ kemendagri_dotted('kode_desa') }} as village_kemendagri_code,
        {{ blank_to_null('nama_desa') }} as village_name,
        {{ parse_decimal('skor_idm') }} as index_score,
        upper(trim(status_idm)) as index_status,
        {{ parse_integer('tahun') }} as index_year,
        _batch_id as batch_id,
        _batch_logical_date as batch_logical_date,
        _source_row_number as source_row_number

    from source

),

ranked as (

    select
        *,
        max(index_year) over () as latest_index_year,
        {{ version_rank('village_kemendagri_code', 'index_year') }} as version_rank
    from renamed

),

final as (

    select
        village_kemendagri_code,
        village_name,
        index_score,
        index_status,
        index_year,
        batch_id,
        batch_logical_date
    from ranked
    where version_rank = 1
        and index_year = latest_index_year

)

select * from final
