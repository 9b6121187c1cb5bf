{#
    Every counted sales line with the landing dates between which it was known so (transaction
    time): known_from, the landing date it became known as it is; known_to, the landing date it
    stopped being so (exclusive; null while it still is). "As known at L" is
    known_from <= L < coalesce(known_to, infinity); the versions with a null known_to are the
    current lines (int_sales_lines): this model is the one definition of a counted sales line, its
    amounts and its return lines.

    - Online: silver.orders is merged in place, so an order's past states come from its status
      history, where every change carries the landing date it arrived (received_on). An order's
      state as known at L is its change with the latest changed_at among those received by L (the
      rule silver's merge applies); a new version starts on every landing date that brought a
      change. A cancelled state has no sale lines; the return line of a refunded order is known
      from the landing date of its first refund change. Line items and the refunded quantity are
      those of the current order (silver keeps no earlier line states), as are its buyer, storefront
      and fulfilment location.
    - Store: till lines never change once received; known from the landing date of their file.

    customer_key is the buyer as recorded, before identity merges: a merge is known from its own
    landing date (customer_key_merges.merged_on), so readers apply the merges known at their date
    (int_customer_rfm_values).
#}
with

orders as (

    select * from {{ ref('stg_silver__orders') }}

),

order_lines as (

    select * from {{ ref('stg_silver__order_lines') }}

),

status_history as (

    select * from {{ ref('stg_silver__order_status_history') }}

),

pos_lines as (

    select * from {{ ref('stg_silver__pos_lines') }}

),

knowledge_dates as (

    select distinct
        order_id,
        received_on as known_from
    from status_history

),

changes_known as (

    select
        knowledge_dates.order_id,
        knowledge_dates.known_from,
        status_history.order_status,
        status_history.changed_at,
        row_number() over (
            partition by knowledge_dates.order_id, knowledge_dates.known_from
            order by status_history.changed_at desc, status_history.received_on desc, status_history.order_status
        ) as newest_first
    from knowledge_dates
    inner join status_history
        on knowledge_dates.order_id = status_history.order_id
        and status_history.received_on <= knowledge_dates.known_from

),

refunds_known as (

    select
        order_id,
        known_from,
        min(changed_at) as refunded_at
    from changes_known
    where order_status in ('partially_refunded', 'refunded')
    group by order_id, known_from

),

order_versions as (

    select
        changes_known.order_id,
        changes_known.known_from,
        lead(changes_known.known_from) over (
            partition by changes_known.order_id order by changes_known.known_from
        ) as known_to,
        changes_known.order_status,
        refunds_known.refunded_at
    from changes_known
    left join refunds_known
        on changes_known.order_id = refunds_known.order_id
        and changes_known.known_from = refunds_known.known_from
    where changes_known.newest_first = 1

),

lines_of_kept_versions as (

    select
        order_lines.order_id,
        order_lines.line_id,
        orders.customer_key,
        coalesce(orders.channel_source, 'web') as storefront,
        orders.location_id,
        order_lines.sku,
        order_lines.quantity,
        order_lines.refunded_quantity,
        order_lines.unit_price,
        coalesce(order_lines.discount_amount, 0) as discount_amount,
        order_lines.net_amount,
        orders.business_date,
        orders.created_at,
        order_versions.refunded_at,
        order_versions.known_from,
        order_versions.known_to
    from order_versions
    inner join orders
        on order_versions.order_id = orders.order_id
    inner join order_lines
        on order_versions.order_id = order_lines.order_id
    where order_versions.order_status != 'cancelled'

),

online_sale_lines as (

    select
        {{ dbt.concat(["'online|'", "order_id", "'|'", "line_id"]) }} as sales_line_id,
        'online' as channel,
        'sale' as line_type,
        order_id,
        customer_key,
        storefront,
        sku,
        location_id,
        quantity,
        unit_price,
        discount_amount,
        net_amount,
        business_date,
        created_at as transacted_at,
        known_from,
        known_to
    from lines_of_kept_versions

),

online_return_lines as (

    select
        {{ dbt.concat(["'online|'", "order_id", "'|'", "line_id", "'|return'"]) }} as sales_line_id,
        'online' as channel,
        'return' as line_type,
        order_id,
        customer_key,
        storefront,
        sku,
        location_id,
        -refunded_quantity as quantity,
        unit_price,
        -cast(round(discount_amount * refunded_quantity / quantity, 2) as decimal(12, 2)) as discount_amount,
        -cast(round(net_amount * refunded_quantity / quantity, 2) as decimal(12, 2)) as net_amount,
        cast(refunded_at as date) as business_date,
        refunded_at as transacted_at,
        known_from,
        known_to
    from lines_of_kept_versions
    where refunded_at is not null and refunded_quantity > 0

),

store_lines as (

    select
        {{ dbt.concat([
            "'store|'", "pos_lines.store_id", "'|'", "pos_lines.register_id", "'|'",
            "pos_lines.transaction_id", "'|'", "cast(pos_lines.line_no as " ~ dbt.type_string() ~ ")"
        ]) }} as sales_line_id,
        'store' as channel,
        pos_lines.line_type,
        {{ dbt.concat(["pos_lines.store_id", "'|'", "pos_lines.transaction_id"]) }} as order_id,
        pos_lines.customer_key,
        'store' as storefront,
        pos_lines.sku,
        pos_lines.store_id as location_id,
        pos_lines.quantity,
        pos_lines.unit_price,
        coalesce(pos_lines.discount_amount, 0) as discount_amount,
        pos_lines.net_amount,
        pos_lines.business_date,
        pos_lines.transaction_at as transacted_at,
        pos_lines.received_on as known_from,
        cast(null as date) as known_to
    from pos_lines
    where pos_lines.line_type != 'void'

),

unioned as (

    select * from online_sale_lines
    union all
    select * from online_return_lines
    union all
    select * from store_lines

)

select * from unioned
