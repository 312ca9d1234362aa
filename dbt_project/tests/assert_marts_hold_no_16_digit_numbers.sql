-- PII boundary: no NIK-like value (a run of exactly 16 digits) in any column of any mart.
-- A failure lists the mart, column and offending value: a NIK (or a NIK-shaped id) has
-- leaked past the boundary of contracts/WAREHOUSE.md; find the model that carries it and
-- hash or drop the column. Key and hash columns are hex (md5 or HMAC), which may contain
-- 16 decimal digits in a row by chance, so for those only a value that is itself a 16-digit
-- number fails. Key columns are named `*_key`, `*_key_a`/`*_key_b` (overlap pairs) or `*_hash`.
--
-- One scan per mart, each row's columns unpivoted as text (a scan per column cost 11 s of a
-- night at 1M persons). Columns whose text can never hold 16 digits in a row (booleans,
-- 4-byte integers, dates, times) are left out, and so is any value shorter than 16.
{%- set marts = [
    'dim_worker', 'bridge_worker_source_record', 'dim_program', 'dim_region',
    'fct_enrollment', 'fct_enrollment_overlap', 'mart_returnee_pathways',
    'mart_program_reach_regency_month',
] %}
{%- set never_sixteen_digits = [
    'boolean', 'smallint', 'integer', 'date', 'time without time zone',
    'timestamp without time zone', 'timestamp with time zone',
] %}
{%- set scans = [] %}
{%- for mart in marts %}
    {%- set relation = ref(mart) %}
    {%- if execute %}
        {%- set values = [] %}
        {%- for column in adapter.get_columns_in_relation(relation) %}
            {%- set name = column.name | lower %}
            {%- if column.dtype | lower not in never_sixteen_digits %}
                {%- if name.endswith('_key') or name.endswith('_key_a')
                       or name.endswith('_key_b') or name.endswith('_hash') %}
                    {%- set pattern = '^[0-9]{16}$' %}
                {%- else %}
                    {%- set pattern = '(^|[^0-9])[0-9]{16}([^0-9]|$)' %}
                {%- endif %}
                {%- do values.append(
                    "('" ~ name ~ "', cast(m." ~ adapter.quote(name) ~ " as text), '"
                    ~ pattern ~ "')"
                ) %}
            {%- endif %}
        {%- endfor %}
        {%- if values %}
            {%- do scans.append(
                "select '" ~ mart ~ "' as mart, v.column_name, v.offending_value from "
                ~ relation ~ " as m cross join lateral (values " ~ values | join(', ')
                ~ ") as v (column_name, offending_value, pattern) where case when "
                ~ "length(v.offending_value) >= 16 then v.offending_value ~ v.pattern end"
            ) %}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if scans %}
    {{ scans | join('\nunion all\n') }}
{%- else %}
select null as mart, null as column_name, null as offending_value where false
{%- endif %}
