-- Roles of contracts/WAREHOUSE.md "Schemas and roles": role bi_reader may read every table
-- in marts and dq.batch, and nothing else in the warehouse (not raw, staging, intermediate,
-- restricted, dq.quarantine); case_officer reads restricted. A failure lists the table and
-- what is wrong: a grant leaked (revoke it) or the post-hook grants of macros/marts/grants.sql
-- did not run. (Skipped silently when the roles do not exist yet: the hooks create them.)
-- depends_on: {{ ref('dim_worker') }}
-- depends_on: {{ ref('worker_identity') }}
with

tables as (

    select
        namespaces.nspname as schema_name,
        classes.relname as table_name,
        classes.oid as table_oid
    from pg_catalog.pg_class as classes
    inner join pg_catalog.pg_namespace as namespaces
        on classes.relnamespace = namespaces.oid
    where
        classes.relkind in ('r', 'v', 'm', 'p', 'f')
        and namespaces.nspname not in ('pg_catalog', 'information_schema')
        and namespaces.nspname not like 'pg\_%'

),

privileges as (

    select
        tables.schema_name,
        tables.table_name,
        roles.rolname as role_name,
        has_table_privilege(roles.oid, tables.table_oid, 'SELECT') as can_select,
        has_schema_privilege(roles.oid, tables.schema_name, 'USAGE') as can_use_schema
    from tables
    cross join pg_catalog.pg_roles as roles
    where roles.rolname in ('bi_reader', 'case_officer')

)

select
    schema_name,
    table_name,
    role_name,
    'bi_reader can read it' as problem
from privileges
where
    role_name = 'bi_reader'
    and can_select and can_use_schema
    and not (schema_name = 'marts' or (schema_name = 'dq' and table_name = 'batch'))
union all
select
    schema_name,
    table_name,
    role_name,
    'not readable by ' || role_name as problem
from privileges
where
    not (can_select and can_use_schema)
    and (
        (role_name = 'bi_reader' and schema_name = 'marts')
        or (role_name = 'case_officer' and schema_name in ('marts', 'restricted'))
    )
