{{ incremental_staging_config('parekraf_pelatihan', unique_key='participant_id') }}

with

source as (

    {{ accepted_source_rows('parekraf_pelatihan') }}
    {% if is_incremental() %}
        and {{ touched_since_last_build('parekraf_pelatihan', record_id='id_peserta') }}
    {% endif %}

),

renamed as (

    select
        id_peserta as participant_id,
        nik as nik_recorded,
        {{ normalise_nik('nik') }} as nik_cleaned,
        {{ nik_sixteen_digits('nik') }} as nik_normalised,
        nama_lengkap as name_recorded,
        {{ normalise_name('nama_lengkap') }} as name_normalised,
        {{ map_gender('jenis_kelamin') }} as gender,
        -- an Excel date cell (YYYY-MM-DD, maybe with a time) or text typed as DD-MM-YYYY
        coalesce(
            {{ parse_date('tanggal_lahir', 'iso') }},
            {{ parse_date('tanggal_lahir', 'dmy_dash') }}
        ) as birth_date,
        {{ blank_to_null('provinsi') }} as province_name_recorded,
        {{ blank_to_null('kabupaten_kota') }} as regency_name_recorded,
        {{ province_name_key('provinsi') }} as province_name_key,
        {{ regency_name_key('kabupaten_kota') }} as regency_name_key,
        {{ blank_to_null('nama_pelatihan') }} as training_name,
        {{ blank_to_null('kategori') }} as training_category,
        -- one programme per Kategori (seed program_catalogue): 'Desa Wisata' -> PRK-DESA-WISATA
        'PRK-' || regexp_replace(upper(trim(kategori)), '\s+', '-', 'g') as program_code,
        {{ parse_date('tanggal_mulai', 'iso') }} as start_date,
        {{ parse_date('tanggal_selesai', 'iso') }} as end_date,
        status as status_recorded,
        case upper(trim(status))
            when 'TERDAFTAR' then 'registered'
            when 'LULUS' then 'completed'
            when 'TIDAK LULUS' then 'failed'
            when 'BATAL' then 'cancelled'
        end as status,
        {{ parse_timestamp('terakhir_diubah', 'iso_local') }} as updated_at,
        _batch_id as batch_id,
        _batch_logical_date as batch_logical_date,
        _source_row_number as source_row_number

    from source

),

ranked as (

    select
        *,
        {{ version_rank('participant_id') }} as version_rank
    from renamed

),

final as (

    select
        participant_id,
        nik_recorded,
        nik_cleaned,
        nik_normalised,
        {{ classify_nik('nik_recorded', 'birth_date', 'gender') }} as nik_status,
        name_recorded,
        name_normalised,
        gender,
        birth_date,
        province_name_recorded,
        regency_name_recorded,
        province_name_key,
        regency_name_key,
        training_name,
        training_category,
        program_code,
        start_date,
        end_date,
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
