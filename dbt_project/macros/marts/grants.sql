{#- Roles and grants of contracts/WAREHOUSE.md "Schemas and roles", applied as post-hooks of
    the marts and restricted models (so every run, including a single-model run from Cosmos,
    leaves the rebuilt table readable), idempotent:

    * `bi_reader` (NOLOGIN; the deployment grants it to logins): USAGE on schema `marts`,
      SELECT on every marts table, USAGE on schema `dq` and SELECT on `dq.batch` only. Nothing
      on raw, staging, intermediate, restricted or dq.quarantine.
    * `case_officer` (NOLOGIN): member of bi_reader ("bi_reader and above") plus USAGE on
      schema `restricted` and SELECT on its tables.
    * Default privileges in marts and restricted for tables the dbt user creates later, and
      re-grants on every run (dbt rebuilds a table by swapping in a new one).
    * PUBLIC: Postgres grants PUBLIC nothing on new schemas or tables; the exception is schema
      `public` (CREATE before PostgreSQL 15), revoked here. The warehouse schemas are revoked
      from PUBLIC explicitly too, so a stray manual grant does not survive a run.

    Concurrent GRANTs on the same object fail in Postgres ("tuple concurrently updated"), and
    dbt builds models in parallel: each hook first takes a transaction-level advisory lock.
    Creating roles needs CREATEROLE; without it the hook fails saying what an administrator
    must run once. -#}

{% macro marts_grants_lock() -%}
    select pg_advisory_xact_lock(hashtext('sinergi.marts.grants'))
{%- endmacro %}

{% macro marts_ensure_roles() -%}
    do $$
    declare
        role_name text;
    begin
        foreach role_name in array array['bi_reader', 'case_officer'] loop
            if not exists (select from pg_catalog.pg_roles where rolname = role_name) then
                begin
                    execute format('create role %I nologin', role_name);
                exception
                    when duplicate_object or unique_violation then
                        null;  -- created concurrently by another session
                    when insufficient_privilege then
                        raise exception using
                            message = format('role %s does not exist and %s may not create roles',
                                role_name, current_user),
                            hint = format('An administrator runs once: CREATE ROLE %s NOLOGIN;',
                                role_name);
                end;
            end if;
        end loop;
    end
    $$;
    grant bi_reader to case_officer
{%- endmacro %}

{#- Revoke PUBLIC on the warehouse schemas that exist (and CREATE on schema public). Only
    schemas: touching other tables' catalog rows here would deadlock with models being built
    in parallel (each hook revokes PUBLIC on its own table). -#}
{% macro marts_revoke_public() -%}
    do $$
    declare
        schema_name text;
    begin
        revoke create on schema public from public;
        foreach schema_name in array
            array['raw', 'staging', 'intermediate', 'marts', 'restricted', 'dq', 'identity'] loop
            if exists (select from pg_catalog.pg_namespace where nspname = schema_name) then
                execute format('revoke all on schema %I from public', schema_name);
            end if;
        end loop;
    end
    $$
{%- endmacro %}

{#- bi_reader's part of the dq schema: dq.batch only, when the ingest has created it. -#}
{% macro marts_grant_dq_batch() -%}
    do $$
    begin
        if to_regclass('dq.batch') is not null then
            grant usage on schema dq to bi_reader;
            grant select on dq.batch to bi_reader;
        end if;
        if to_regclass('dq.quarantine') is not null then
            revoke all on dq.quarantine from bi_reader;
        end if;
    end
    $$
{%- endmacro %}

{#- Post-hook of every marts model. -#}
{% macro marts_grant_bi_reader() -%}
    {{ marts_grants_lock() }};
    {{ marts_ensure_roles() }};
    {{ marts_revoke_public() }};
    revoke all on {{ this }} from public;
    grant usage on schema {{ this.schema }} to bi_reader;
    grant select on {{ this }} to bi_reader;
    alter default privileges in schema {{ this.schema }} grant select on tables to bi_reader;
    {{ marts_grant_dq_batch() }}
{%- endmacro %}

{#- Post-hook of every restricted model: case_officer only. -#}
{% macro marts_grant_case_officer() -%}
    {{ marts_grants_lock() }};
    {{ marts_ensure_roles() }};
    {{ marts_revoke_public() }};
    revoke all on schema {{ this.schema }} from bi_reader;
    revoke all on {{ this }} from public, bi_reader;
    grant usage on schema {{ this.schema }} to case_officer;
    grant select on {{ this }} to case_officer;
    alter default privileges in schema {{ this.schema }} grant select on tables to case_officer
{%- endmacro %}

{#- Post-hook of restricted.match_review, after marts_grant_case_officer: case officers record
    their decision through the view; nothing else of the review queue is theirs to change. -#}
{% macro marts_grant_review_decisions() -%}
    grant update (decision, decided_by, decided_at, note) on {{ this }} to case_officer
{%- endmacro %}
