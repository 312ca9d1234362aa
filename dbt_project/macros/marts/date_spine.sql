{#- One row per month (`month`: the first day, a date) from the month of `start_date_sql` to
    the month of `end_date_sql`, both inclusive. No packages: generate_series, kept in this
    macro so the models stay adapter-portable. -#}
{% macro marts_month_spine(start_date_sql, end_date_sql) -%}
    select cast(month_start as date) as month
    from generate_series(
        cast(date_trunc('month', cast({{ start_date_sql }} as date)) as timestamp),
        cast(date_trunc('month', cast({{ end_date_sql }} as date)) as timestamp),
        interval '1 month'
    ) as month_start
{%- endmacro %}

{#- The last day of the month starting at `month_sql`. -#}
{% macro marts_month_end(month_sql) -%}
    cast(cast({{ month_sql }} as date) + interval '1 month' - interval '1 day' as date)
{%- endmacro %}

{#- The logical date being built (var), as a date literal. -#}
{% macro marts_logical_date() -%}
    cast('{{ var("logical_date") }}' as date)
{%- endmacro %}
