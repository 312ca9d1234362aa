{#- Generic test: every non-null value of the column matches the regular expression `regex`
    (PostgreSQL ARE). -#}
{% test matches_pattern(model, column_name, regex) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
    and {{ column_name }} !~ '{{ regex }}'

{% endtest %}
