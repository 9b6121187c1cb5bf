{#
    Products bought together, across both channels: a basket is an online order or a store
    basket (fct_sales order_id) with at least one sale line. One row per ordered pair (sku, then
    other_sku) of distinct skus in at least one common basket, so each direction has its own
    confidence:

        support    = baskets with both / all baskets
        confidence = baskets with both / baskets with sku          (P(other_sku | sku))
        lift       = confidence / (baskets with other_sku / all baskets)

    Pairs with support below var affinity_min_support are left out.
#}
with

sales as (

    select * from {{ ref('fct_sales') }}
    where line_type = 'sale'
        and sku is not null

),

products as (

    select * from {{ ref('stg_silver__products') }}

),

basket_items as (

    select distinct
        order_id,
        sku
    from sales

),

total as (

    select count(distinct order_id) as total_baskets
    from basket_items

),

sku_baskets as (

    select
        sku,
        count(*) as baskets
    from basket_items
    group by sku

),

pairs as (

    select
        basket_items.sku,
        other_items.sku as other_sku,
        count(*) as pair_baskets
    from basket_items
    inner join basket_items as other_items
        on basket_items.order_id = other_items.order_id
        and basket_items.sku != other_items.sku
    group by basket_items.sku, other_items.sku

),

measured as (

    select
        pairs.sku,
        pairs.other_sku,
        pairs.pair_baskets,
        sku_baskets.baskets as sku_baskets,
        other_baskets.baskets as other_sku_baskets,
        total.total_baskets,
        {{ safe_divide('pairs.pair_baskets', 'total.total_baskets') }} as support,
        {{ safe_divide('pairs.pair_baskets', 'sku_baskets.baskets') }} as confidence,
        {{ safe_divide(
            'pairs.pair_baskets * total.total_baskets',
            'sku_baskets.baskets * other_baskets.baskets'
        ) }} as lift
    from pairs
    cross join total
    inner join sku_baskets
        on pairs.sku = sku_baskets.sku
    inner join sku_baskets as other_baskets
        on pairs.other_sku = other_baskets.sku

),

kept as (

    select
        *,
        row_number() over (
            partition by sku
            order by lift desc, confidence desc, other_sku
        ) as affinity_rank
    from measured
    where support >= {{ var('affinity_min_support') }}

),

final as (

    select
        cast(kept.sku as {{ dbt.type_string() }}) as sku,
        cast(kept.other_sku as {{ dbt.type_string() }}) as other_sku,
        cast(products.product_name as {{ dbt.type_string() }}) as other_product_name,
        cast(products.category as {{ dbt.type_string() }}) as other_category,
        cast(kept.pair_baskets as bigint) as pair_baskets,
        cast(kept.sku_baskets as bigint) as sku_baskets,
        cast(kept.other_sku_baskets as bigint) as other_sku_baskets,
        cast(kept.total_baskets as bigint) as total_baskets,
        cast(round(kept.support, 6) as double) as support,
        cast(round(kept.confidence, 4) as double) as confidence,
        cast(round(kept.lift, 4) as double) as lift,
        cast(kept.affinity_rank as int) as affinity_rank
    from kept
    left join products
        on kept.other_sku = products.sku

)

select * from final
