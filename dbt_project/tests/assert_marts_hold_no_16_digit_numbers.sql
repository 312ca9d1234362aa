-- PII boundary: no NIK-like value (a run of exactly 16 digits) in any column of any mart.
-- A failure lists the mart, column and offending value: a NIK (or a NIK-shaped id) has
-- leaked past the boundary of contracts/WAREHOUSE.md; find the model that carries it and
-- hash or drop the column. Key and hash columns are hex (md5 or HMAC), which may contain
-- 16 decimal digits in a row by chance, so for those only a value that is itself a 16-digit
-- number fails. Key columns are named `*_key`, `*_key_a`/`*_key_b` (overlap pairs) or `*_hash`.
{%- set marts = [
    'dim_worker', 'bridge_worker_source_record', 'dim_program', 'dim_region',
    'fct_enrollment', 'fct_enrollment_overlap', 'mart_returnee_pathways',
    'mart_program_reach_regency_month',
] %}
{%- set checks = [] %}
{%- for mart in marts %}
    {%- set relation = ref(mart) %}
    {%- if execute %}
        {%- for column in adapter.get_columns_in_relation(relation) %}
            {%- set name = column.name | lower %}
            {%- if name.endswith('_key') or name.endswith('_key_a') or name.endswith('_key_b')
                   or name.endswith('_hash') %}
                {%- set pattern = '^[0-9]{16}$' %}
            {%- else %}
                {%- set pattern = '(^|[^0-9])[0-9]{16}([^0-9]|$)' %}
            {%- endif %}
            {%- do checks.append(
                "select '" ~ mart ~ "' as mart, '" ~ name ~ "' as column_name, "
                ~ "cast(" ~ adapter.quote(name) ~ " as text) as offending_value from "
                ~ relation ~ " where cast(" ~ adapter.quote(name) ~ " as text) ~ '"
                ~ pattern ~ "'"
            ) %}
        {%- endfor %}
    {%- endif %}
{%- endfor %}
{%- if checks %}
    {{ checks | join('\nunion all\n') }}
{%- else %}
select null as mart, null as column_name, null as offending_value where false
{%- endif %}
