{#- The rows of `raw.<source_name>` that belong to accepted batches: current (in force for their
    night) with verdict passed or warned. Adds `_batch_logical_date`, the night the batch
    carries, which orders record versions. The only place staging reads dq.batch. -#}
{% macro accepted_source_rows(source_name) -%}
    select
        raw_rows.*,
        accepted_batches.logical_date as _batch_logical_date
    from {{ source('raw', source_name) }} as raw_rows
    inner join {{ source('dq', 'batch') }} as accepted_batches
        on raw_rows._batch_id = accepted_batches.batch_id
    where accepted_batches.is_current
        and accepted_batches.verdict in ('passed', 'warned')
        and accepted_batches.source_system = '{{ source_name }}'
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
