{{ incremental_staging_config('umkm_penerima', unique_key='beneficiary_id') }}

with

source as (

    {{ accepted_source_rows('umkm_penerima') }}
    {% if is_incremental() %}
        and {{ touched_since_last_build('umkm_penerima', record_id='id_penerima') }}
    {% endif %}

),

renamed as (

    select
        id_penerima as beneficiary_id,
        nik as nik_recorded,
        {{ normalise_nik('nik') }} as nik_cleaned,
        {{ nik_sixteen_digits('nik') }} as nik_normalised,
        nama_penerima as name_recorded,
        {{ normalise_name('nama_penerima') }} as name_normalised,
        {{ map_gender('jenis_kelamin') }} as gender,
        {{ parse_date('tgl_lahir', 'dmy_slash') }} as birth_date,
        {{ blank_to_null('nama_usaha') }} as business_name,
        case when trim(nib) ~ '^[0-9]{13}$' then trim(nib) end as business_registration_number,
        case when trim(kbli) ~ '^[0-9]{5}$' then trim(kbli) end as business_classification_code,
        upper(trim(kode_program)) as program_code,
        {{ blank_to_null('nama_program') }} as program_name,
        {{ parse_date('tgl_mulai', 'dmy_slash') }} as start_date,
        {{ parse_date('tgl_selesai', 'dmy_slash') }} as end_date,
        {{ parse_rupiah('nilai_rp') }} as amount_idr,
        {{ bps_code('kode_wilayah_bps') }} as region_bps_code,
        status as status_recorded,
        case upper(trim(status))
            when 'AKTIF' then 'active'
            when 'SELESAI' then 'completed'
            when 'DIBATALKAN' then 'cancelled'
        end as status,
        {{ parse_timestamp('tgl_update', 'dmy_slash_local') }} as updated_at,
        _batch_id as batch_id,
        _batch_logical_date as batch_logical_date,
        _source_row_number as source_row_number

    from source

),

ranked as (

    select
        *,
        {{ version_rank('beneficiary_id') }} as version_rank
    from renamed

),

final as (

    select
        beneficiary_id,
        nik_recorded,
        nik_cleaned,
        nik_normalised,
        {{ classify_nik('nik_recorded', 'birth_date', 'gender') }} as nik_status,
        name_recorded,
        name_normalised,
        gender,
        birth_date,
        business_name,
        business_registration_number,
        business_classification_code,
        program_code,
        program_name,
        start_date,
        end_date,
        amount_idr,
        region_bps_code,
        status_recorded,
        status,
        status = 'cancelled' as is_cancelled,
        false as is_deleted,
        updated_at,
        batch_id,
        batch_logical_date,
        source_row_number
    from ranked
    where version_rank = 1

)

select * from final
