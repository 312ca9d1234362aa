{#- A stable surrogate key: md5 over the natural key's fields, each coalesced and separated so
    ('a', 'bc') and ('ab', 'c') differ. Only for non-PII natural keys (md5 is not a secret
    hash). The same inputs give the same key on every night and on a rebuild from scratch. -#}
{% macro marts_surrogate_key(fields) -%}
    md5(
        {%- for field in fields %}
        coalesce(cast({{ field }} as {{ dbt.type_string() }}), '<null>')
        {%- if not loop.last %} || '|' ||{% endif %}
        {%- endfor %}
    )
{%- endmacro %}
