{#- A person's name as a matching key (never for display). In this order:

    1. upper case, trimmed;
    2. degrees after a comma dropped (`SITI AMINAH, S.Pd., M.Pd.` -> `SITI AMINAH`), and
       degrees written at the end without a comma (`... S.PD.`, `... A.MD.`);
    3. honorifics and titles before the name dropped, repeatedly: H., Hj., Hjh., Drs., Dra.,
       Dr., Ir., Prof., KH. (HJ, DRS, DRA also without the dot);
    4. every form of MUHAMMAD as one word: MUHAMMAD, MUHAMAD, MOHAMMAD, MOHAMAD, MOCHAMMAD,
       MOCHAMAD, MUCHAMMAD, MUCHAMAD, MOEHAMMAD, MOCH., MOH., MUH., MOHD., MHD., M. (a lone
       `M.` is read as MUHAMMAD: in Indonesian registries it almost always is);
    5. punctuation removed (apostrophes joined, other marks become a space);
    6. pre-1972 spellings modernised, applied to every record alike so both sides of a
       comparison agree even where the rewrite is not a real modern spelling:
       DJ -> J, TJ -> C, then J -> Y when not at the start of a word (WAHJU -> WAHYU;
       a modern NURJANAH becomes NURYANAH on every side), OE -> U, CH -> KH;
    7. doubled letters collapsed (ABDULLAH = ABDULAH, EFFENDI = EFENDI);
    8. spaces collapsed. Empty results are null.
    A dropped middle word or a middle initial is left to probabilistic linkage. -#}
{% macro normalise_name(expr) -%}
    {%- set muhammad_forms = "MUHAMMAD|MUHAMAD|MOHAMMAD|MOHAMAD|MOCHAMMAD|MOCHAMAD|MUCHAMMAD|MUCHAMAD|MOEHAMMAD|MOEHAMAD|MOCH\\.?|MOH\\.?|MUH\\.|MOHD\\.?|MHD\\.?|M\\." -%}
    {%- set step = "upper(trim(" ~ expr ~ "))" -%}
    {%- set step = "split_part(" ~ step ~ ", ',', 1)" -%}
    {%- set step = "regexp_replace(" ~ step ~ ", '(\\s+[SMAD]\\.\\s?([A-Z]{1,4}\\.)+)+\\s*$', '')" -%}
    {%- set step = "regexp_replace(" ~ step ~ ", '^(\\s*(H|HJ|HJH|DRS|DRA|DR|IR|PROF|KH)\\.|\\s*(HJ|HJH|DRS|DRA)\\s)+', '')" -%}
    {%- set step = "regexp_replace(' ' || " ~ step ~ " || ' ', '\\s(" ~ muhammad_forms ~ ")(?=\\s)', ' MUHAMMAD ', 'g')" -%}
    {%- set step = "regexp_replace(replace(" ~ step ~ ", '''', ''), '[^A-Z ]', ' ', 'g')" -%}
    {%- set step = "replace(replace(" ~ step ~ ", 'DJ', 'J'), 'TJ', 'C')" -%}
    {%- set step = "regexp_replace(" ~ step ~ ", '([A-Z])J', '\\1Y', 'g')" -%}
    {%- set step = "replace(replace(" ~ step ~ ", 'OE', 'U'), 'CH', 'KH')" -%}
    {%- set step = "regexp_replace(" ~ step ~ ", '([A-Z])\\1+', '\\1', 'g')" -%}
    nullif(trim(regexp_replace({{ step }}, '\s+', ' ', 'g')), '')
{%- endmacro %}
