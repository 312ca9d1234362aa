{#- The rows of `raw.<source_name>` that belong to accepted batches: current (in force for their
    night) with verdict passed or warned. Adds `_batch_logical_date`, the night the batch
    carries, which orders record versions. The only place staging reads dq.batch. Ends in a
    where clause, so an incremental model can add `and {{ touched_since_last_build(...) }}`. -#}
{% macro accepted_source_rows(source_name) -%}
    select
        raw_rows.*,
        accepted_batches.logical_date as _batch_logical_date
    from {{ source('raw', source_name) }} as raw_rows
    inner join {{ source('dq', 'batch') }} as accepted_batches
        on raw_rows._batch_id = accepted_batches.batch_id
    where {{ batch_is_accepted('accepted_batches', source_name) }}
{%- endmacro %}

{#- For an incremental staging model (in `{% if is_incremental() %}`), after
    accepted_source_rows: only the records the night touched, with every accepted version of
    each: records with a version in a batch accepted since the model's last build, and records
    whose staged version came from a batch no longer accepted (a resend replaced it). Ranking
    those versions again gives the latest version a full build would give.
    `record_id` is the raw id column; the model's unique_key is the same id, renamed. -#}
{% macro touched_since_last_build(source_name, record_id) -%}
    raw_rows.{{ record_id }} in (
        select new_rows.{{ record_id }}
        from {{ source('raw', source_name) }} as new_rows
        where new_rows._batch_id in (
            select new_batches.batch_id
            from {{ source('dq', 'batch') }} as new_batches
            where {{ batch_is_accepted('new_batches', source_name) }}
            except
            select staged.batch_id
            from {{ staged_batch_relation() }} as staged
        )
        union
        select {{ config.get('unique_key') }}
        from {{ this }}
        where batch_id not in (
            select still_accepted.batch_id
            from {{ source('dq', 'batch') }} as still_accepted
            where {{ batch_is_accepted('still_accepted', source_name) }}
        )
    )
{%- endmacro %}

{% macro batch_is_accepted(alias, source_name) -%}
    {{ alias }}.is_current
        and {{ alias }}.verdict in ('passed', 'warned')
        and {{ alias }}.source_system = '{{ source_name }}'
{%- endmacro %}

{#- Where an incremental staging model notes the batches it has staged: a table of its own
    beside it (`<model>__staged_batch`), so two models building in parallel never create or
    write the same table. -#}
{% macro staged_batch_relation() -%}
    {{ this.schema }}.{{ this.identifier }}__staged_batch
{%- endmacro %}

{#- Config of a staging model of a delta source built incrementally: a night re-stages only the
    records it touched (accepted_source_rows with record_id) instead of parsing every version
    ever received. delete+insert on the record key; afterwards the rows whose batch is no
    longer accepted are removed (a record only a superseded batch held) and the set of staged
    batches is recorded, all in the model's transaction. A changed column list fails the build
    (on_schema_change) instead of leaving old rows without the column: rebuild with
    `--full-refresh`. -#}
{% macro incremental_staging_config(source_name, unique_key) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=unique_key,
        on_schema_change='fail',
        meta={'equals_full_build': true},
        pre_hook="create table if not exists {{ staged_batch_relation() }} ("
            ~ "batch_id bigint primary key)",
        post_hook=[
            "delete from {{ this }} where batch_id not in (select batch_id from "
                ~ "{{ source('dq', 'batch') }} as accepted where "
                ~ "{{ batch_is_accepted('accepted', '" ~ source_name ~ "') }})",
            "delete from {{ staged_batch_relation() }}",
            "insert into {{ staged_batch_relation() }} (batch_id) "
                ~ "select batch_id from {{ source('dq', 'batch') }} as accepted"
                ~ " where {{ batch_is_accepted('accepted', '" ~ source_name ~ "') }}",
        ],
    ) }}
{%- endmacro %}

{#- 1 for the latest version of each record, as a window expression over a staging `renamed`
    CTE (columns batch_logical_date, source_row_number): the latest batch night first, then
    the latest position in the delivery. `extra_order` (e.g. the source's own
    update stamp) is tried before them. -#}
{% macro version_rank(partition_by, extra_order=none) -%}
    row_number() over (
        partition by {{ partition_by }}
        order by
            {%- if extra_order %} {{ extra_order }} desc nulls last,{% endif %}
            batch_logical_date desc,
            source_row_number desc
    )
{%- endmacro %}
