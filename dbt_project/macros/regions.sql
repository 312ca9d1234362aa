{#- Region codes: Kemendagri (dotted PP.KK.CC.VVVV or the same digits undotted) and BPS
    (PP, PPKK, PPKKCCC, PPKKCCCVVV). Neither is derivable from the other: the BPS master
    (int_regions__crosswalk) maps them. -#}

{#- A Kemendagri code in its dotted form (`32.09.12.2005`, `32.09`), from dotted or undotted
    text of 2, 4, 6 or 10 digits; null when it is neither. -#}
{% macro kemendagri_dotted(expr) -%}
    case
        when trim({{ expr }}) ~ '^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$'
            then trim({{ expr }})
        when trim({{ expr }}) ~ '^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{10})$'
            then concat_ws('.',
                substr(trim({{ expr }}), 1, 2),
                nullif(substr(trim({{ expr }}), 3, 2), ''),
                nullif(substr(trim({{ expr }}), 5, 2), ''),
                nullif(substr(trim({{ expr }}), 7, 4), '')
            )
    end
{%- endmacro %}

{#- A BPS code as received when it has one of the BPS lengths (2, 4, 7, 10 digits). -#}
{% macro bps_code(expr) -%}
    case when trim({{ expr }}) ~ '^([0-9]{2}|[0-9]{4}|[0-9]{7}|[0-9]{10})$' then trim({{ expr }}) end
{%- endmacro %}

{#- A province name as a lookup key: upper case, `PROVINSI`/`PROV.` dropped, spaces
    collapsed (`Prov. Jawa Barat` -> `JAWA BARAT`). -#}
{% macro province_name_key(expr) -%}
    nullif(trim(regexp_replace(regexp_replace(
        upper(trim({{ expr }})), '^(PROVINSI|PROPINSI|PROV\.?)\s+', ''), '\s+', ' ', 'g')), '')
{%- endmacro %}

{#- A regency name as a lookup key: upper case, `KAB.`/`KAB` -> `KABUPATEN`, `KOTA
    ADMINISTRASI` -> `KOTA`, spaces collapsed. A bare name (`CIREBON`) stays bare. -#}
{% macro regency_name_key(expr) -%}
    nullif(trim(regexp_replace(regexp_replace(regexp_replace(
        upper(trim({{ expr }})),
        '^KAB(\.|\s)\s*', 'KABUPATEN '),
        '^(KABUPATEN|KOTA)\s+ADMINISTRASI\s+', '\1 '),
        '\s+', ' ', 'g')), '')
{%- endmacro %}

{#- The bare name of a BPS regency name (`KABUPATEN CIREBON` -> `CIREBON`,
    `KOTA ADMINISTRASI JAKARTA PUSAT` -> `JAKARTA PUSAT`). -#}
{% macro regency_bare_name(expr) -%}
    regexp_replace(upper(trim({{ expr }})), '^(KABUPATEN|KOTA)\s+(ADMINISTRASI\s+)?', '')
{%- endmacro %}
