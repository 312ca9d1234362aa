{{ incremental_staging_config('kp2mi_pmi', unique_key='placement_id') }}

with

source as (

    {{ accepted_source_rows('kp2mi_pmi') }}
    {% if is_incremental() %}
        and {{ touched_since_last_build('kp2mi_pmi', record_id='id_pmi') }}
    {% endif %}

),

renamed as (

    select
        id_pmi as placement_id,
        nik as nik_recorded,
        {{ normalise_nik('nik') }} as nik_cleaned,
        {{ nik_sixteen_digits('nik') }} as nik_normalised,
        nama as name_recorded,
        {{ normalise_name('nama') }} as name_normalised,
        {{ map_gender('jenis_kelamin') }} as gender,
        {{ blank_to_null('tempat_lahir') }} as birth_place,
        {{ parse_date('tanggal_lahir', 'iso') }} as birth_date,
        {{ kemendagri_dotted('kode_desa_asal') }} as origin_kemendagri_code,
        {{ blank_to_null('negara_penempatan') }} as destination_country,
        {{ blank_to_null('sektor') }} as sector,
        {{ blank_to_null('skema') }} as scheme,
        {{ parse_date('tanggal_berangkat', 'iso') }} as departure_date,
        {{ parse_date('tanggal_kembali', 'iso') }} as return_date,
        status as status_recorded,
        case upper(trim(status))
            when 'TERDAFTAR' then 'registered'
            when 'BERANGKAT' then 'departed'
            when 'BEKERJA' then 'working'
            when 'PURNA' then 'returned'
            when 'BATAL' then 'cancelled'
        end as migrant_status,
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
        {{ version_rank('placement_id', 'updated_at') }} as version_rank
    from renamed

),

final as (

    select
        placement_id,
        nik_recorded,
        nik_cleaned,
        nik_normalised,
        {{ classify_nik('nik_recorded', 'birth_date', 'gender') }} as nik_status,
        name_recorded,
        name_normalised,
        gender,
        birth_place,
        birth_date,
        origin_kemendagri_code,
        destination_country,
        sector,
        scheme,
        departure_date,
        return_date,
        status_recorded,
        migrant_status,
        migrant_status = 'cancelled' as is_cancelled,
        is_deleted,
        updated_at,
        batch_id,
        batch_logical_date,
        source_row_number
    from ranked
    where version_rank = 1

)

select * from final
