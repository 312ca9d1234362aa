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
        where new_rows._batch_id in ({{ batches_not_yet_staged(source_name) }})
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
        ] + record_staged_batches(source_name),
    ) }}
{%- endmacro %}

{#- Post-hooks of an incremental staging model: note the batches it has now staged (every
    accepted batch of its source), for the next build to know what is new. -#}
{% macro record_staged_batches(source_name) -%}
    {{ return([
        "delete from {{ staged_batch_relation() }}",
        "insert into {{ staged_batch_relation() }} (batch_id) "
            ~ "select batch_id from {{ source('dq', 'batch') }} as accepted"
            ~ " where {{ batch_is_accepted('accepted', '" ~ source_name ~ "') }}",
    ]) }}
{%- endmacro %}

{#- Config of a staging model of a full-snapshot source built incrementally: a night folds its
    new snapshot into the staged rows (`snapshot_fold_is_possible`, `not_yet_staged`) instead
    of ranking every snapshot ever received. The model has one row per record with
    `last_seen_date` and `is_deleted` (absent from the latest snapshot); members the new
    snapshot does not list are not rewritten, so the post-hook sets their is_deleted from the
    latest night staged. When the fold is not possible the pre-hook empties the table and the
    model inserts every record again. -#}
{% macro snapshot_staging_config(source_name, unique_key) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=unique_key,
        on_schema_change='fail',
        meta={'equals_full_build': true},
        pre_hook=[
            "{% if is_incremental() and not snapshot_fold_is_possible('" ~ source_name ~ "') %}"
                ~ "delete from {{ this }}{% endif %}",
        ],
        post_hook=[
            "update {{ this }} as member set is_deleted = member.last_seen_date < latest.night"
                ~ " from (select max(last_seen_date) as night from {{ this }}) as latest"
                ~ " where member.is_deleted is distinct from (member.last_seen_date < latest.night)",
            "create table if not exists {{ staged_batch_relation() }} (batch_id bigint primary key)",
        ] + record_staged_batches(source_name),
    ) }}
{%- endmacro %}

{#- Whether an incremental snapshot model can fold tonight's snapshots into what it staged:
    it has staged before (its `__staged_batch` table exists), and every snapshot it staged is
    still accepted. A resend that replaced a staged night cannot be subtracted from the
    first-seen, last-seen and count of its records: the model is then built again from every
    accepted snapshot. Needs the database, so false when dbt only parses. -#}
{% macro snapshot_fold_is_possible(source_name) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set staged = staged_batch_relation() -%}
    {%- set exists = run_query("select to_regclass('" ~ staged ~ "') is not null") -%}
    {%- if not exists.columns[0].values()[0] -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set withdrawn -%}
        select count(*) from {{ staged }} as staged
        where staged.batch_id not in (
            select accepted.batch_id from {{ source('dq', 'batch') }} as accepted
            where {{ batch_is_accepted('accepted', source_name) }}
        )
    {%- endset -%}
    {{ return(run_query(withdrawn).columns[0].values()[0] == 0) }}
{%- endmacro %}

{#- After accepted_source_rows, in a snapshot model that folds: the rows of accepted batches
    the model has not staged yet. Named as a positive list, so the raw table's index on
    `_batch_id` reads tonight's snapshot and not every snapshot kept. -#}
{% macro not_yet_staged(source_name) -%}
    raw_rows._batch_id in ({{ batches_not_yet_staged(source_name) }})
{%- endmacro %}

{#- The accepted batches of a source that the model has not staged yet (a query). -#}
{% macro batches_not_yet_staged(source_name) -%}
    select new_batches.batch_id
    from {{ source('dq', 'batch') }} as new_batches
    where {{ batch_is_accepted('new_batches', source_name) }}
    except
    select staged.batch_id
    from {{ staged_batch_relation() }} as staged
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
