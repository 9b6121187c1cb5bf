{#
    The customer attributes silver keeps only as they are now (membership, tier, consent) and the
    home store, observed once per landing date: the run for landing date L records them as they
    stand when it runs. Silver has no history of them, so an observation cannot be recomputed
    later: a rerun of an earlier landing date than the latest observed adds nothing (what that
    date observed stands), and rerunning the latest date replaces its own observation.
#}
with

customers as (

    select * from {{ ref('dim_customer') }}

),

observed as (

    select {{ rfm_snapshot_date(ref('int_sales_line_versions')) }} as observed_on

),

{% if is_incremental() %}
latest_observation as (

    select max(observed_on) as observed_on from {{ this }}

),
{% endif %}

final as (

    select
        cast(observed.observed_on as date) as observed_on,
        cast(customers.customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(customers.is_member as boolean) as is_member,
        cast(customers.tier as {{ dbt.type_string() }}) as tier,
        cast(customers.email_opt_in as boolean) as email_opt_in,
        cast(customers.sms_opt_in as boolean) as sms_opt_in,
        cast(customers.profiling_consent as boolean) as profiling_consent,
        cast(customers.home_store_id as {{ dbt.type_string() }}) as home_store_id
    from customers
    cross join observed
    {% if is_incremental() %}
    cross join latest_observation
    where latest_observation.observed_on is null
        or observed.observed_on >= latest_observation.observed_on
    {% endif %}

)

select * from final
