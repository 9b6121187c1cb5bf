{#
    RFM segment from the recency and frequency scores (1-5), the standard RF grid
    (rows: R score, columns: F score):

        R\F |  1               2                    3                    4                 5
        5   |  New Customers   Potential Loyalists  Potential Loyalists  Champions         Champions
        4   |  Promising       Potential Loyalists  Potential Loyalists  Loyal Customers   Loyal Customers
        3   |  About To Sleep  About To Sleep       Need Attention       Loyal Customers   Loyal Customers
        2   |  Hibernating     Hibernating          At Risk              At Risk           Cannot Lose Them
        1   |  Lost            Hibernating          At Risk              At Risk           Cannot Lose Them

    That is the usual RF regex map ([1-2][1-2] Hibernating, [1-2][3-4] At Risk, [1-2]5 Cannot Lose
    Them, 3[1-2] About To Sleep, 33 Need Attention, [3-4][4-5] Loyal Customers, 41 Promising,
    51 New Customers, [4-5][2-3] Potential Loyalists, 5[4-5] Champions) with its lowest cell, 11,
    named Lost. The monetary score does not enter the segment.
#}
{% macro rfm_segment(r_score, f_score) -%}
    case
        when {{ r_score }} = 5 and {{ f_score }} >= 4 then 'Champions'
        when {{ r_score }} between 3 and 4 and {{ f_score }} >= 4 then 'Loyal Customers'
        when {{ r_score }} >= 4 and {{ f_score }} between 2 and 3 then 'Potential Loyalists'
        when {{ r_score }} = 5 and {{ f_score }} = 1 then 'New Customers'
        when {{ r_score }} = 4 and {{ f_score }} = 1 then 'Promising'
        when {{ r_score }} = 3 and {{ f_score }} = 3 then 'Need Attention'
        when {{ r_score }} = 3 and {{ f_score }} <= 2 then 'About To Sleep'
        when {{ r_score }} <= 2 and {{ f_score }} = 5 then 'Cannot Lose Them'
        when {{ r_score }} <= 2 and {{ f_score }} between 3 and 4 then 'At Risk'
        when {{ r_score }} = 1 and {{ f_score }} = 1 then 'Lost'
        else 'Hibernating'
    end
{%- endmacro %}


{#
    The landing date the RFM revisions are known at, as a SQL date: the run's landing date
    (run_landing_date()) when set, otherwise the latest business date of the sales given (a
    relation with a business_date column), so a bare build scores its data as of its last day.
#}
{% macro rfm_snapshot_date(sales_relation) -%}
    {%- set landing_date = run_landing_date() -%}
    {%- if landing_date -%}
        cast('{{ landing_date }}' as date)
    {%- else -%}
        (select max(business_date) from {{ sales_relation }})
    {%- endif -%}
{%- endmacro %}


{#
    A score 1-5 from a customer's own measure: 5 * the share of the snapshot's customers whose
    measure is as good as theirs or worse (ties included), rounded up. A tie group takes the score
    of the quintile where it ends, so equal measures always get equal scores and the best value
    always scores 5; without ties it is ntile(5) where the count divides by five. Integer
    arithmetic, so no rounding can split a tie.

    worse_first: the order in which worse values come first (e.g. 'recency_days desc').
#}
{% macro rfm_quintile_score(worse_first, partition_by) -%}
    cast(floor(
        (5 * count(*) over (partition by {{ partition_by }} order by {{ worse_first }}) - 1
            + count(*) over (partition by {{ partition_by }}))
        / count(*) over (partition by {{ partition_by }})
    ) as int)
{%- endmacro %}


{#
    The frequency score from business thresholds (var rfm_frequency_thresholds: the least number
    of orders for scores 2, 3, 4 and 5). Frequency is a small integer shared by most customers on
    a short history (most have bought once), so quintiles cannot rank it: a tie-aware quintile
    would give the one-time buyers 1 and anyone with a second order 5. A threshold depends on the
    customer alone: a one-time buyer always scores 1, so is never loyal.
#}
{% macro rfm_frequency_score(frequency) -%}
    {%- set thresholds = var('rfm_frequency_thresholds') | list -%}
    {%- if thresholds | length != 4 or (thresholds | sort) != thresholds or thresholds[0] < 2 -%}
        {{ exceptions.raise_compiler_error(
            "rfm_frequency_thresholds must be four increasing order counts from 2 up, got " ~ thresholds) }}
    {%- endif -%}
    case
        {%- for threshold in thresholds | reverse %}
        when {{ frequency }} >= {{ threshold }} then {{ 5 - loop.index0 }}
        {%- endfor %}
        else 1
    end
{%- endmacro %}
