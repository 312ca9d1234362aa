{#- Safe parsing of raw text values (every raw column is text as received).

    Validation already quarantined rows whose values do not parse, but staging stays
    defensive: a value that does not fit becomes null, never an error. Every cast is guarded by
    a regular expression, and dates are built from their parts through the first of the month,
    so an impossible day (30 February) gives null instead of raising or rolling over.
    PostgreSQL-specific syntax (~, regexp_replace, make_date) lives only in these macros.
-#}

{#- A date from text parts (year 4 digits, month 1-2 digits, day 1-2 digits), null when the
    parts are not a real calendar day. The parts must already be proven to be digits. -#}
{% macro date_from_parts(year_text, month_text, day_text) -%}
    {%- set first_of_month = "make_date(cast(" ~ year_text ~ " as integer), cast(" ~ month_text ~ " as integer), 1)" -%}
    case
        when cast({{ month_text }} as integer) between 1 and 12
            and cast({{ day_text }} as integer) between 1 and 31
            and cast({{ year_text }} as integer) between 1 and 9999
            then case
                -- nested, so make_date only ever sees a real month and year
                when extract(month from {{ first_of_month }} + (cast({{ day_text }} as integer) - 1))
                    = cast({{ month_text }} as integer)
                    then {{ first_of_month }} + (cast({{ day_text }} as integer) - 1)
            end
    end
{%- endmacro %}

{#- Text in one of the ministries' date formats to a date, null when it is not a real day.
    format: 'iso' YYYY-MM-DD (a trailing time, THH:MM:SS or an offset, is ignored),
    'dmy_slash' DD/MM/YYYY (a trailing time is ignored), 'dmy_dash' DD-MM-YYYY,
    'ymd_compact' YYYYMMDD.
    One regular expression proves the shape; the parts are then cut at their fixed positions.
    (Cutting them out with regexp_replace and capture groups cost ~40 us a call in
    PostgreSQL's regex engine, ten calls per date: most of a staging build's time.) -#}
{% macro parse_date(expr, format) -%}
    {%- if format == 'iso' -%}
        {%- set pattern = '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?$' -%}
        {%- set y, m, d = (1, 4), (6, 2), (9, 2) -%}
    {%- elif format == 'dmy_slash' -%}
        {%- set pattern = '^[0-9]{2}/[0-9]{2}/[0-9]{4}( .*)?$' -%}
        {%- set y, m, d = (7, 4), (4, 2), (1, 2) -%}
    {%- elif format == 'dmy_dash' -%}
        {%- set pattern = '^[0-9]{2}-[0-9]{2}-[0-9]{4}$' -%}
        {%- set y, m, d = (7, 4), (4, 2), (1, 2) -%}
    {%- elif format == 'ymd_compact' -%}
        {%- set pattern = '^[0-9]{8}$' -%}
        {%- set y, m, d = (1, 4), (5, 2), (7, 2) -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("parse_date: unknown format " ~ format) }}
    {%- endif -%}
    {%- set text = "trim(" ~ expr ~ ")" -%}
    case
        when {{ text }} ~ '{{ pattern }}'
            then {{ date_from_parts(
                "substr(" ~ text ~ ", " ~ y[0] ~ ", " ~ y[1] ~ ")",
                "substr(" ~ text ~ ", " ~ m[0] ~ ", " ~ m[1] ~ ")",
                "substr(" ~ text ~ ", " ~ d[0] ~ ", " ~ d[1] ~ ")",
            ) }}
    end
{%- endmacro %}

{#- A timestamp with time zone from text, null when it does not parse.
    format: 'iso_offset' YYYY-MM-DDTHH:MM:SS+07:00 (the API and Kemendes),
    'iso_local' YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD (Parekraf Excel cells, WIB),
    'dmy_slash_local' DD/MM/YYYY HH:MM:SS (UMKM, WIB). Local times are Asia/Jakarta (+07). -#}
{% macro parse_timestamp(expr, format) -%}
    {%- if format == 'iso_offset' -%}
        {%- set pattern = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?([+-][0-9]{2}:?[0-9]{2}|Z)$' -%}
        case
            when trim({{ expr }}) ~ '{{ pattern }}'
                and {{ parse_date(expr, 'iso') }} is not null
                then cast(trim({{ expr }}) as timestamp with time zone)
        end
    {%- elif format == 'iso_local' -%}
        {%- set pattern = '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])?$' -%}
        case
            when trim({{ expr }}) ~ '{{ pattern }}'
                and {{ parse_date(expr, 'iso') }} is not null
                then cast(
                    replace(trim({{ expr }}), 'T', ' ')
                    || case when length(trim({{ expr }})) = 10 then ' 00:00:00' else '' end
                    || '+07:00'
                    as timestamp with time zone
                )
        end
    {%- elif format == 'dmy_slash_local' -%}
        {%- set pattern = '^[0-9]{2}/[0-9]{2}/[0-9]{4} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$' -%}
        case
            when trim({{ expr }}) ~ '{{ pattern }}'
                and {{ parse_date(expr, 'dmy_slash') }} is not null
                then cast(
                    cast({{ parse_date(expr, 'dmy_slash') }} as text)
                    || ' ' || split_part(trim({{ expr }}), ' ', 2) || '+07:00'
                    as timestamp with time zone
                )
        end
    {%- else -%}
        {{ exceptions.raise_compiler_error("parse_timestamp: unknown format " ~ format) }}
    {%- endif -%}
{%- endmacro %}

{#- Whole rupiah as bigint. Digits (`25000000`) or the Indonesian format with thousands dots
    and an optional decimal comma (`25.000.000`, `25.000.000,00`); the decimals are dropped
    (rupiah have none in practice). Anything else, or more than 18 digits, is null. -#}
{% macro parse_rupiah(expr) -%}
    case
        when trim({{ expr }}) ~ '^[0-9]{1,18}$'
            then cast(trim({{ expr }}) as bigint)
        when trim({{ expr }}) ~ '^[0-9]{1,3}(\.[0-9]{3}){0,5}(,[0-9]+)?$'
            then cast(replace(split_part(trim({{ expr }}), ',', 1), '.', '') as bigint)
    end
{%- endmacro %}

{#- A whole number (integer), null unless the text is 1 to 9 digits. -#}
{% macro parse_integer(expr) -%}
    case when trim({{ expr }}) ~ '^[0-9]{1,9}$' then cast(trim({{ expr }}) as integer) end
{%- endmacro %}

{#- A decimal number written with a decimal point, null otherwise. -#}
{% macro parse_decimal(expr) -%}
    case
        when trim({{ expr }}) ~ '^-?[0-9]{1,12}(\.[0-9]{1,12})?$'
            then cast(trim({{ expr }}) as numeric)
    end
{%- endmacro %}

{#- JSON booleans as received ('true'/'false'), null otherwise. -#}
{% macro parse_boolean(expr) -%}
    case lower(trim({{ expr }})) when 'true' then true when 'false' then false end
{%- endmacro %}

{#- Gender to the contract's F / M: L, LAKI-LAKI, Laki-laki are M; P, PEREMPUAN are F. -#}
{% macro map_gender(expr) -%}
    case
        when upper(trim({{ expr }})) in ('L', 'LAKI-LAKI', 'LAKI LAKI', 'PRIA') then 'M'
        when upper(trim({{ expr }})) in ('P', 'PEREMPUAN', 'WANITA') then 'F'
    end
{%- endmacro %}

{#- Empty or blank text as null (CSV parsers keep empty fields). -#}
{% macro blank_to_null(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{#- The start of a day in Asia/Jakarta as timestamp with time zone. -#}
{% macro wib_day_start(date_expr) -%}
    cast(cast({{ date_expr }} as text) || ' 00:00:00+07:00' as timestamp with time zone)
{%- endmacro %}
