{#- Every change of a worker key, so BI can follow a person whose key was merged into another's
    or split off (docs/IDENTITY.md, "Stable keys"). From the identity step's own history. -#}
with

key_changes as (

    select * from {{ source('identity', 'worker_key_history') }}

),

final as (

    select
        cast(old_worker_key as text) as old_worker_key,
        cast(new_worker_key as text) as new_worker_key,
        cast(night as date) as night,
        cast(reason as text) as reason,
        cast(records_moved as integer) as records_moved
    from key_changes

)

select * from final
