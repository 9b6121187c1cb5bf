{# Every counted sales line of both channels, one shape (the grain of fct_sales). #}
with

online_sales_lines as (

    select * from {{ ref('int_online_sales_lines') }}

),

store_sales_lines as (

    select * from {{ ref('int_store_sales_lines') }}

),

unioned as (

    select * from online_sales_lines
    union all
    select * from store_sales_lines

)

select * from unioned
