with

program_catalogue as (

    select * from {{ ref('program_catalogue') }}

),

final as (

    select
        cast({{ marts_surrogate_key(['ministry', 'program_code']) }} as text) as program_key,
        cast(ministry as text) as ministry,
        cast(program_code as text) as program_code,
        cast(program_name as text) as program_name,
        cast(category as text) as category
    from program_catalogue

)

select * from final
