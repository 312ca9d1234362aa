{#- One row per participant of a Kemendes village activity, in the latest version of the
    activity. A change re-sends the whole activity, so a participant missing from the latest
    version of its activity was removed: kept with its last version and is_deleted. Activity
    rows without participants (empty participant fields) describe no person and are left out. -#}
with

source as (

    {{ accepted_source_rows('kemendes_kegiatan') }}

),

renamed as (

    select
        source_record_id as participant_record_id,
        id_kegiatan as activity_id,
        {{ parse_integer('peserta_index') }} as participant_index,
        {{ kemendagri_dotted('kode_desa') }} as village_kemendagri_code,
        {{ blank_to_null('nama_desa') }} as village_name,
        upper(trim(jenis_kegiatan)) as program_code,
        {{ parse_integer('tahun_anggaran') }} as budget_year,
        {{ parse_date('tanggal_mulai', 'iso') }} as start_date,
        {{ parse_date('tanggal_selesai', 'iso') }} as end_date,
        {{ parse_timestamp('updated_at', 'iso_offset') }} as updated_at,
        coalesce({{ parse_boolean('dibatalkan') }}, false) as is_cancelled,
        nik as nik_recorded,
        {{ normalise_nik('nik') }} as nik_cleaned,
        {{ nik_sixteen_digits('nik') }} as nik_normalised,
        nama as name_recorded,
        {{ normalise_name('nama') }} as name_normalised,
        {{ map_gender('jenis_kelamin') }} as gender,
        {{ parse_integer('usia') }} as age_at_start,
        lower(trim(peran)) as participant_role,
        _batch_id as batch_id,
        _batch_logical_date as batch_logical_date,
        _source_row_number as source_row_number

    from source
    where peserta_index is not null

),

ranked as (

    select
        *,
        {{ version_rank('participant_record_id', 'updated_at') }} as version_rank,
        first_value(batch_id) over (
            partition by activity_id
            order by updated_at desc nulls last, batch_logical_date desc, batch_id desc
        ) as latest_activity_batch_id
    from renamed

),

latest as (

    select
        *,
        -- the two-digit NIK year that fits the age: born in (start year - age) or a year before
        extract(year from start_date) - age_at_start as birth_year_upper
    from ranked
    where version_rank = 1

),

final as (

    select
        participant_record_id,
        activity_id,
        participant_index,
        village_kemendagri_code,
        village_name,
        program_code,
        budget_year,
        start_date,
        end_date,
        nik_recorded,
        nik_cleaned,
        nik_normalised,
        {{ classify_nik(
            'nik_recorded', 'cast(null as date)', 'gender',
            contradiction="birth_year_upper is not null and mod(cast(birth_year_upper as integer), 100) <> cast(substr(nik_normalised, 11, 2) as integer) and mod(cast(birth_year_upper as integer) + 99, 100) <> cast(substr(nik_normalised, 11, 2) as integer)"
        ) }} as nik_status,
        name_recorded,
        name_normalised,
        gender,
        age_at_start,
        cast(birth_year_upper as integer) as birth_year_estimated,
        participant_role,
        case
            when is_cancelled then 'cancelled'
            when start_date > cast('{{ var("logical_date") }}' as date) then 'registered'
            when end_date <= cast('{{ var("logical_date") }}' as date) then 'completed'
            else 'active'
        end as status,
        is_cancelled,
        batch_id <> latest_activity_batch_id as is_deleted,
        updated_at,
        batch_id,
        batch_logical_date,
        source_row_number
    from latest

)

select * from final
