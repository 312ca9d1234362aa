{#- HMAC-SHA256 (RFC 2104) in plain SQL on the built-in sha256(bytea): pgcrypto is not
    available in the embedded PostgreSQL (built without OpenSSL).

        HMAC(K, m) = H((K0 xor opad) || H((K0 xor ipad) || m))

    K0 is the key (UTF-8), replaced by its SHA-256 when longer than the 64-byte block, then
    zero-padded to 64 bytes; ipad is 0x36 (54) and opad 0x5c (92) repeated. Byte-wise xor is
    written (a | b) - (a & b), which SQL linters parse (Postgres' `#` they do not). The two padded
    keys are computed once per query by `marts_hmac_key_pads` (a one-row select to use as a
    CTE), and each value is then two sha256 calls (`marts_hmac_sha256_hex_with_pads`).
    Output: lower-case hex, as Python's hmac.new(key, msg, "sha256").hexdigest().

    The key of nik_hash reaches SQL only as the session setting `sinergi.pii_key` (set through
    PGOPTIONS by whoever runs dbt), never as SQL text: `marts_pii_key()`. -#}

{% macro marts_pii_key() -%}
    coalesce(current_setting('sinergi.pii_key', true), '')
{%- endmacro %}

{#- One row: inner_pad = K0 xor ipad, outer_pad = K0 xor opad (bytea, 64 bytes each). -#}
{% macro marts_hmac_key_pads(key_sql) -%}
    select
        decode(
            string_agg(lpad(to_hex((get_byte(padded_key, byte_index) | 54)
                - (get_byte(padded_key, byte_index) & 54)), 2, '0'), ''
                order by byte_index),
            'hex'
        ) as inner_pad,
        decode(
            string_agg(lpad(to_hex((get_byte(padded_key, byte_index) | 92)
                - (get_byte(padded_key, byte_index) & 92)), 2, '0'), ''
                order by byte_index),
            'hex'
        ) as outer_pad
    from (
        select block_key || decode(repeat('00', 64 - length(block_key)), 'hex') as padded_key
        from (
            select
                case
                    when length(key_bytes) > 64 then sha256(key_bytes)
                    else key_bytes
                end as block_key
            from (select convert_to({{ key_sql }}, 'UTF8') as key_bytes) as raw_key
        ) as block_keys
    ) as padded_keys
    cross join generate_series(0, 63) as byte_index
{%- endmacro %}

{#- The hex HMAC of a text message, given the two padded keys (columns or expressions). -#}
{% macro marts_hmac_sha256_hex_with_pads(message_sql, inner_pad='inner_pad', outer_pad='outer_pad') -%}
    encode(
        sha256({{ outer_pad }} || sha256({{ inner_pad }} || convert_to({{ message_sql }}, 'UTF8'))),
        'hex'
    )
{%- endmacro %}

{#- Self-contained form (a scalar subquery) for one-off use and for testing the macro. -#}
{% macro marts_hmac_sha256_hex(key_sql, message_sql) -%}
    (
        select {{ marts_hmac_sha256_hex_with_pads(message_sql, 'hmac_pads.inner_pad', 'hmac_pads.outer_pad') }}
        from ({{ marts_hmac_key_pads(key_sql) }}) as hmac_pads
    )
{%- endmacro %}

{#- Pre-hook of every model that hashes NIKs: without a key every nik_hash would be an
    unkeyed, reversible hash of a 16-digit number, so the model fails instead. -#}
{% macro marts_require_pii_key() -%}
    do $$
    begin
        if coalesce(current_setting('sinergi.pii_key', true), '') = '' then
            raise exception using
                message = 'sinergi.pii_key is not set: nik_hash needs the HMAC key',
                hint = 'Run dbt with PGOPTIONS=''-c sinergi.pii_key=<key>'' (the deployment '
                    || 'passes SINERGI_PII_KEY); the key never goes into SQL text or the repo.';
        end if;
    end
    $$
{%- endmacro %}
