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
    The RFM snapshot date as a SQL expression: the `snapshot_date` run parameter when set (see
    run_context.sql), otherwise the latest business date of the sales given (a relation with a
    business_date column).
#}
{% macro rfm_snapshot_date(sales_relation) -%}
    {%- set snapshot_date = run_parameter('snapshot_date') -%}
    {%- if snapshot_date -%}
        cast('{{ snapshot_date }}' as date)
    {%- else -%}
        (select max(business_date) from {{ sales_relation }})
    {%- endif -%}
{%- endmacro %}
