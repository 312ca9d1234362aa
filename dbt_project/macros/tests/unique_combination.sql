{#- Generic test: no two rows share the same values of `combination` (a list of columns). -#}
{% test unique_combination(model, combination) %}

select
    {{ combination | join(', ') }},
    count(*) as row_count
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1

{% endtest %}
