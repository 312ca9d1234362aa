{#- Generic test: the column is null on every row where `condition` holds (e.g. no NIK on a
    record whose NIK is not valid). -#}
{% test null_when(model, column_name, condition) %}

select {{ column_name }}
from {{ model }}
where ({{ condition }})
    and {{ column_name }} is not null

{% endtest %}
