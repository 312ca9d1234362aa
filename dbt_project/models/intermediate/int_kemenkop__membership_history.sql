{#- Kemenkop membership history from the nightly snapshots: one row per member per spell of
    consecutive accepted snapshots that list it. A member listed every night has one spell; a
    member who disappears and comes back has two. spell_end_date is the last night seen;
    has_left_registry is true for a spell that ended before the latest snapshot. -#}
with

snapshot_rows as (

    {{ accepted_source_rows('kemenkop_anggota') }}

),

snapshot_nights as (

    select
        logical_date as snapshot_date,
        row_number() over (order by logical_date) as snapshot_number
    from (select distinct _batch_logical_date as logical_date from snapshot_rows) as nights

),

member_nights as (

    select distinct
        snapshot_rows.nomor_induk_koperasi || '#' || snapshot_rows.nomor_anggota
            as source_record_id,
        snapshot_nights.snapshot_date,
        snapshot_nights.snapshot_number
    from snapshot_rows
    inner join snapshot_nights
        on snapshot_rows._batch_logical_date = snapshot_nights.snapshot_date

),

islands as (

    select
        *,
        snapshot_number
            - row_number() over (partition by source_record_id order by snapshot_number)
            as island_id
    from member_nights

),

spells as (

    select
        source_record_id,
        min(snapshot_date) as spell_start_date,
        max(snapshot_date) as spell_end_date,
        count(*) as snapshots_seen
    from islands
    group by source_record_id, island_id

),

final as (

    select
        {{ stable_key(['source_record_id', 'spell_start_date']) }} as membership_spell_key,
        source_record_id,
        spell_start_date,
        spell_end_date,
        snapshots_seen,
        spell_end_date < (select max(snapshot_date) from snapshot_nights) as has_left_registry
    from spells

)

select * from final
