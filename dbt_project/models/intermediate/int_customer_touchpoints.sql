{#
    The channels each person used, as a sorted comma-separated list: `store` (store baskets),
    the storefront of their online orders (`web`, `app`) and the channel of their behaviour
    events (`web`, `app`).
#}
with

sales_lines as (

    select * from {{ ref('int_sales_lines') }}
    where customer_key is not null

),

events as (

    select * from {{ ref('stg_silver__events') }}
    where customer_key is not null

),

touchpoints as (

    select distinct
        customer_key,
        storefront as channel
    from sales_lines

    union

    select distinct
        customer_key,
        channel
    from events

),

listed as (

    select
        customer_key,
        {{ sorted_list('channel') }} as channels_used,
        count(*) as channel_count
    from touchpoints
    group by customer_key

)

select * from listed
