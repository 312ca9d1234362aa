{#- Kemenkop delivers a full snapshot every night: the latest state of a member is its row in
    the latest snapshot that lists it; a member missing from the latest accepted snapshot has
    left the registry (is_deleted). First and last nights seen give the membership history
    (int_kemenkop__membership_history has its spells).

    Incremental (snapshot_staging_config): a night folds only its new snapshot into what is
    staged. Each member's version is the later of the two, first seen the earlier, last seen
    the later, and snapshots seen the sum. Ranking every snapshot ever accepted again grew with
    history: 9.7 s on night 2 and 18 s on night 3 at 1M persons. When a staged snapshot is no
    longer accepted (a resend replaced it), the fold is not possible and the model is
    rebuilt from every accepted snapshot. -#}
{{ snapshot_staging_config('kemenkop_anggota', unique_key='member_record_id') }}
{%- set fold = snapshot_fold_is_possible('kemenkop_anggota') %}
{#- A member's version: the columns of the snapshot row that is its latest. #}
{%- set version_columns = [
    'member_record_id', 'cooperative_id', 'cooperative_name', 'cooperative_type',
    'is_koperasi_merah_putih', 'cooperative_kemendagri_code', 'member_number', 'nik_recorded',
    'nik_cleaned', 'nik_normalised', 'nik_status', 'name_recorded',
    'name_normalised', 'gender', 'birth_date', 'joined_date',
    'left_date', 'status_recorded', 'membership_status', 'loan_amount_idr',
    'loan_date', 'has_loan',
] %}

with

source as (

    {{ accepted_source_rows('kemenkop_anggota') }}
    {% if fold %}
        and {{ not_yet_staged('kemenkop_anggota') }}
    {% endif %}

),

renamed as (

    select
        nomor_induk_koperasi || '#' || nomor_anggota as member_record_id,
        nomor_induk_koperasi as cooperative_id,
        {{ blank_to_null('nama_koperasi') }} as cooperative_name,
        {{ blank_to_null('jenis_koperasi') }} as cooperative_type,
        trim(is_kdmp) = '1' as is_koperasi_merah_putih,
        {{ kemendagri_dotted('kode_desa_koperasi') }} as cooperative_kemendagri_code,
        nomor_anggota as member_number,
        nik_anggota as nik_recorded,
        {{ normalise_nik('nik_anggota') }} as nik_cleaned,
        {{ nik_sixteen_digits('nik_anggota') }} as nik_normalised,
        nama_anggota as name_recorded,
        {{ normalise_name('nama_anggota') }} as name_normalised,
        {{ map_gender('jenis_kelamin') }} as gender,
        {{ parse_date('tanggal_lahir', 'ymd_compact') }} as birth_date,
        {{ parse_date('tanggal_masuk', 'ymd_compact') }} as joined_date,
        {{ parse_date('tanggal_keluar', 'ymd_compact') }} as left_date,
        status_anggota as status_recorded,
        case upper(trim(status_anggota))
            when 'AKTIF' then 'active'
            when 'KELUAR' then 'completed'
        end as membership_status,
        {{ parse_rupiah('pinjaman_rp') }} as loan_amount_idr,
        {{ parse_date('tanggal_pinjaman', 'ymd_compact') }} as loan_date,
        _batch_id as batch_id,
        _batch_logical_date as batch_logical_date,
        _source_row_number as source_row_number

    from source

),

ranked as (

    select
        *,
        {{ version_rank('member_record_id') }} as version_rank,
        min(batch_logical_date) over (partition by member_record_id) as first_seen_date,
        max(batch_logical_date) over (partition by member_record_id) as last_seen_date,
        count(*) over (partition by member_record_id) as snapshots_seen
    from renamed

),

versions as (

    select
        member_record_id,
        cooperative_id,
        cooperative_name,
        cooperative_type,
        is_koperasi_merah_putih,
        cooperative_kemendagri_code,
        member_number,
        nik_recorded,
        nik_cleaned,
        nik_normalised,
        {{ classify_nik('nik_recorded', 'birth_date', 'gender') }} as nik_status,
        name_recorded,
        name_normalised,
        gender,
        birth_date,
        joined_date,
        left_date,
        status_recorded,
        membership_status,
        loan_amount_idr,
        loan_date,
        loan_amount_idr is not null as has_loan,
        first_seen_date,
        last_seen_date,
        snapshots_seen,
        batch_id,
        batch_logical_date,
        source_row_number
    from ranked
    where version_rank = 1
    {% if fold %}
        -- what is staged for the members tonight's snapshot lists
        union all
        select
            {{ version_columns | join(', ') }},
            first_seen_date, last_seen_date, snapshots_seen, batch_id, batch_logical_date,
            source_row_number
        from {{ this }}
        where member_record_id in (select member_record_id from renamed)
    {% endif %}

),

folded as (

    select
        *,
        row_number() over (
            partition by member_record_id
            order by batch_logical_date desc, source_row_number desc
        ) as fold_rank,
        min(first_seen_date) over (partition by member_record_id) as first_seen_all,
        max(last_seen_date) over (partition by member_record_id) as last_seen_all,
        sum(snapshots_seen) over (partition by member_record_id) as snapshots_all
    from versions

),

latest_snapshot as (

    select max(batch_logical_date) as latest_snapshot_date from renamed
    {% if fold %}
        union all
        select max(last_seen_date) from {{ this }}
    {% endif %}

),

final as (

    select
        {{ version_columns | join(', ') }},
        first_seen_all as first_seen_date,
        last_seen_all as last_seen_date,
        cast(snapshots_all as bigint) as snapshots_seen,
        last_seen_all < (select max(latest_snapshot_date) from latest_snapshot) as is_deleted,
        -- a snapshot has no update stamp: the night of the latest snapshot listing the member
        {{ wib_day_start("last_seen_all") }} as updated_at,
        batch_id,
        batch_logical_date,
        source_row_number
    from folded
    where fold_rank = 1

)

select * from final
