{{ incremental_staging_config('kp2mi_program', unique_key='participant_id') }}

with

source as (

    {{ accepted_source_rows('kp2mi_program') }}
    {% if is_incremental() %}
        and {{ touched_since_last_build('kp2mi_program', record_id='id_peserta') }}
    {% endif %}

),

renamed as (

    select
        id_peserta as participant_id,
        {{ blank_to_null('id_pmi') }} as placement_id,
        nik as nik_recorded,
        {{ normalise_nik('nik') }} as nik_cleaned,
        {{ nik_sixteen_digits('nik') }} as nik_normalised,
        nama as name_recorded,
        {{ normalise_name('nama') }} as name_normalised,
        {{ map_gender('jenis_kelamin') }} as gender,
        {{ parse_date('tanggal_lahir', 'iso') }} as birth_date,
        upper(trim(kode_program)) as program_code,
        {{ blank_to_null('nama_program') }} as program_name,
        {{ parse_date('tanggal_mulai', 'iso') }} as start_date,
        {{ parse_date('tanggal_selesai', 'iso') }} as end_date,
        {{ parse_rupiah('nilai_rp') }} as amount_idr,
        status as status_recorded,
        case upper(trim(status))
            when 'TERDAFTAR' then 'registered'
            when 'AKTIF' then 'active'
            when 'LULUS' then 'completed'
            when 'TIDAK_LULUS' then 'failed'
            when 'BATAL' then 'cancelled'
        end as status,
        {{ parse_timestamp('updated_at', 'iso_offset') }} as updated_at,
        coalesce({{ parse_boolean('deleted') }}, false) as is_deleted,
        _batch_id as batch_id,
        _batch_logical_date as batch_logical_date,
        _source_row_number as source_row_number

    from source

),

ranked as (

    select
        *,
        {{ version_rank('participant_id', 'updated_at') }} as version_rank
    from renamed

),

final as (

    select
        participant_id,
        placement_id,
        nik_recorded,
        nik_cleaned,
        nik_normalised,
        {{ classify_nik('nik_recorded', 'birth_date', 'gender') }} as nik_status,
        name_recorded,
        name_normalised,
        gender,
        birth_date,
        program_code,
        program_name,
        start_date,
        end_date,
        amount_idr,
        status_recorded,
        status,
        status = 'cancelled' as is_cancelled,
        is_deleted,
        updated_at,
        batch_id,
        batch_logical_date,
        source_row_number
    from ranked
    where version_rank = 1

)

select * from final
