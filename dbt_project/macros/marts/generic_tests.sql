{#- Generic data tests of the marts (no packages). -#}

{#- The combination of `combination` (a list of columns) is unique: rows returned are the
    duplicated combinations. -#}
{% test marts_unique_combination(model, combination) %}
    select {{ combination | join(', ') }}, count(*) as row_count
    from {{ model }}
    group by {{ combination | join(', ') }}
    having count(*) > 1
{% endtest %}

{#- A text array column is sorted and free of duplicates and nulls (the contract promises
    sorted arrays to BI). Rows returned break it. -#}
{% test marts_sorted_distinct_array(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is distinct from array(
        select distinct element
        from unnest({{ column_name }}) as element
        where element is not null
        order by element
    )
    and {{ column_name }} is not null
{% endtest %}

{#- `expression` holds on every row (rows returned do not satisfy it). -#}
{% test marts_expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}
