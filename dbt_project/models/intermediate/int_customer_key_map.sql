{#
    Where a person's key was retired by an identity merge, the key that now stands for them.
    Sales and events recorded before a merge still carry the retired key; joining through this map
    puts them on the surviving person. Chains (a -> b, then b -> c) are followed two merges deep.
#}
with

merges as (

    select * from {{ ref('stg_silver__customer_key_merges') }}

),

followed as (

    select
        first_merge.merged_key,
        coalesce(second_merge.surviving_key, first_merge.surviving_key) as surviving_key
    from merges as first_merge
    left join merges as second_merge
        on first_merge.surviving_key = second_merge.merged_key

)

select * from followed
