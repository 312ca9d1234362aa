{#- Every enrolment of every ministry (contracts/WAREHOUSE.md, "How source records become
    enrolments"): a KemenP2MI programme participant, a UMKM beneficiary row, a Parekraf
    participant and a Kemendes activity participant are one enrolment each; a Kemenkop member
    is a cooperative_membership enrolment (tanggal_masuk..tanggal_keluar) and, when it has a
    loan (pinjaman_rp), also a financing enrolment (tanggal_pinjaman..tanggal_keluar) under
    the same source_record_id. Categories and programme names come from the seed
    program_catalogue. region_code is the record's own region (int_source_records__unioned),
    null when the record names none. -#}
with

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

source_records as (

    select * from {{ ref('int_source_records__unioned') }}

),

program_catalogue as (

    select * from {{ ref('program_catalogue') }}

),

unioned as (

    select
        'kp2mi_program' as source_system,
        participant_id as source_record_id,
        'KP2MI' as ministry,
        program_code,
        start_date,
        end_date,
        status,
        amount_idr,
        is_cancelled,
        is_deleted
    from program_participants

    union all

    select
        'umkm_penerima' as source_system,
        beneficiary_id as source_record_id,
        'UMKM' as ministry,
        program_code,
        start_date,
        end_date,
        status,
        amount_idr,
        is_cancelled,
        is_deleted
    from beneficiaries

    union all

    select
        'parekraf_pelatihan' as source_system,
        participant_id as source_record_id,
        'PAREKRAF' as ministry,
        program_code,
        start_date,
        end_date,
        status,
        cast(null as bigint) as amount_idr,
        is_cancelled,
        is_deleted
    from training_participants

    union all

    select
        'kemenkop_anggota' as source_system,
        member_record_id as source_record_id,
        'KEMENKOP' as ministry,
        'ANGGOTA' as program_code,
        joined_date as start_date,
        left_date as end_date,
        membership_status as status,
        cast(null as bigint) as amount_idr,
        false as is_cancelled,
        is_deleted
    from members

    union all

    select
        'kemenkop_anggota' as source_system,
        member_record_id as source_record_id,
        'KEMENKOP' as ministry,
        'PINJAMAN' as program_code,
        loan_date as start_date,
        left_date as end_date,
        membership_status as status,
        loan_amount_idr as amount_idr,
        false as is_cancelled,
        is_deleted
    from members
    where has_loan

    union all

    select
        'kemendes_kegiatan' as source_system,
        participant_record_id as source_record_id,
        'KEMENDES' as ministry,
        program_code,
        start_date,
        end_date,
        status,
        cast(null as bigint) as amount_idr,
        is_cancelled,
        is_deleted
    from activity_participants

),

final as (

    select
        {{ stable_key(['unioned.source_system', 'unioned.source_record_id', 'program_catalogue.category']) }}
            as enrollment_key,
        unioned.source_system,
        unioned.source_record_id,
        unioned.ministry,
        unioned.program_code,
        program_catalogue.program_name,
        program_catalogue.category,
        unioned.start_date,
        unioned.end_date,
        unioned.status,
        unioned.amount_idr,
        source_records.record_region_code as region_code,
        unioned.is_cancelled,
        unioned.is_deleted,
        not (unioned.is_cancelled or unioned.is_deleted) as is_current
    from unioned
    left join program_catalogue
        on unioned.ministry = program_catalogue.ministry
        and unioned.program_code = program_catalogue.program_code
    left join source_records
        on unioned.source_system = source_records.source_system
        and unioned.source_record_id = source_records.source_record_id

)

select * from final
