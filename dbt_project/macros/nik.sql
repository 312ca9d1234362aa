{#- NIK (Nomor Induk Kependudukan): normalisation and classification.

    Layout PPKKCC DDMMYY SSSS: Kemendagri district of first registration, date of birth (women:
    day + 40), serial from 0001. No check digit exists, so a NIK can only be shown implausible,
    never proven right. Only a NIK classified `valid` may be used as an identity key.
-#}

{#- The NIK as digits: surrounding blanks, inner spaces and dots, and a leading apostrophe
    (typed to keep a spreadsheet cell as text) removed. Null when nothing is left. Spreadsheet
    notation (`3,27301E+15`) is left as it is: it cannot be repaired, classify_nik says so. -#}
{% macro normalise_nik(expr) -%}
    nullif(regexp_replace(regexp_replace(trim({{ expr }}), '^''+', ''), '[[:space:].]', '', 'g'), '')
{%- endmacro %}

{#- The NIK's status, checked in this order:

    missing               nothing recorded
    spreadsheet_damaged   spreadsheet notation (`3,27301E+15`, any `E+`/decimal comma): the
                          digits are lost; or 16 digits ending in `000`: a float round trip
                          zeroed the tail (serial x000 would need 1000+ persons registered in one
                          district with the same birth date and sex, which registries do not
                          reach, so we treat it as damage and never as a key)
    wrong_length          after normalise_nik, not exactly 16 digits (15/17 digits, letters)
    inconsistent          16 digits that cannot be a real NIK or contradict the record: a zero
                          province/regency/district, a day outside 1-31 / 41-71, a month outside
                          1-12, a day the month does not have, serial 0000; a birth date in the
                          record whose day, month or two-digit year differ from the NIK's; a
                          recorded sex that disagrees with the day offset (women + 40); or a
                          region part that the BPS master does not know as a Kemendagri district
                          (current or closed), when `district_known` is given
    valid                 none of the above

    A NIK whose tail lost only one or two digits to `0` (serial 0010, 0100) is indistinguishable
    from a real one and stays `valid`; identity resolution must survive such collisions.
    Arguments: nik_recorded the raw value; birth_date a date or null; gender 'F'/'M'/null;
    district_known a boolean SQL expression (null or omitted: not checked); contradiction a
    boolean SQL expression over the 16 digits that the caller knows contradicts its record
    (Kemendes: the age), evaluated only for 16-digit NIKs. -#}
{% macro classify_nik(nik_recorded, birth_date='null', gender='null', district_known='null', contradiction='null') -%}
    {%- set nik = normalise_nik(nik_recorded) -%}
    {%- set day_field = "cast(substr(" ~ nik ~ ", 7, 2) as integer)" -%}
    {%- set birth_day = "(case when " ~ day_field ~ " > 40 then " ~ day_field ~ " - 40 else " ~ day_field ~ " end)" -%}
    case
        when {{ nik }} is null then 'missing'
        when {{ nik }} ~* '[,]|e[+]?[0-9]' then 'spreadsheet_damaged'
        when {{ nik }} ~ '^[0-9]{13}000$' then 'spreadsheet_damaged'
        when {{ nik }} !~ '^[0-9]{16}$' then 'wrong_length'
        when substr({{ nik }}, 1, 2) = '00'
            or substr({{ nik }}, 3, 2) = '00'
            or substr({{ nik }}, 5, 2) = '00'
            or substr({{ nik }}, 13, 4) = '0000'
            or {{ day_field }} not between 1 and 71
            or {{ day_field }} between 32 and 40
            or cast(substr({{ nik }}, 9, 2) as integer) not between 1 and 12
            -- 2000 is a leap year: 29 February is possible in either century
            or {{ date_from_parts("'20' || substr(" ~ nik ~ ", 11, 2)", "substr(" ~ nik ~ ", 9, 2)", birth_day) }} is null
            then 'inconsistent'
        when {{ birth_date }} is not null
            and (
                extract(day from {{ birth_date }}) <> {{ birth_day }}
                or extract(month from {{ birth_date }}) <> cast(substr({{ nik }}, 9, 2) as integer)
                or mod(cast(extract(year from {{ birth_date }}) as integer), 100)
                    <> cast(substr({{ nik }}, 11, 2) as integer)
            )
            then 'inconsistent'
        when {{ gender }} is not null
            and ({{ day_field }} > 40) <> ({{ gender }} = 'F')
            then 'inconsistent'
        when {{ contradiction }} then 'inconsistent'
        when {{ district_known }} is not null and not {{ district_known }} then 'inconsistent'
        else 'valid'
    end
{%- endmacro %}

{#- The 16-digit NIK when it has that shape (whatever its status), else null. -#}
{% macro nik_sixteen_digits(nik_recorded) -%}
    case when {{ normalise_nik(nik_recorded) }} ~ '^[0-9]{16}$' then {{ normalise_nik(nik_recorded) }} end
{%- endmacro %}

{#- The Kemendagri district the NIK was registered in, dotted `PP.KK.CC`, from 16 digits. -#}
{% macro nik_district_code(nik_sixteen) -%}
    case
        when {{ nik_sixteen }} is not null
            then substr({{ nik_sixteen }}, 1, 2) || '.' || substr({{ nik_sixteen }}, 3, 2)
                || '.' || substr({{ nik_sixteen }}, 5, 2)
    end
{%- endmacro %}

{#- A stable text key from parts (md5 of the parts joined with '|'; null parts as ''). -#}
{% macro stable_key(parts) -%}
    md5(
        {%- for part in parts %}
        coalesce(cast({{ part }} as text), ''){{ " || '|' ||" if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
