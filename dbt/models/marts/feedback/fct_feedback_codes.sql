{#-
  Codes of each utterance under the current codeframe version, or, where that version has not
  coded the utterance yet, under the version that coded it last; with the utterance attributes BI
  filters on. Incremental by event_date over the same window as int_feedback_unified and the coding
  step (partition window plus lookback): the window's days are replaced with the current version's
  codes, so a re-coded or late utterance is picked up. Days outside the window keep the version they
  were coded with until a backfill re-codes them (the refresh summary names them): a new codeframe
  never empties the history BI reads.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_date',
    on_schema_change='fail'
) }}

with current_version as (
    select max(codeframe_version) as codeframe_version from {{ ref('dim_codeframe') }}
),

{% if is_incremental() %}
codes as (
    select codes.*
    from {{ source('udf', 'feedback_codes') }} as codes
    inner join current_version on codes.codeframe_version = current_version.codeframe_version
    where {{ in_partition_window('codes.event_date') }}
)
{% else %}
coded as (
    {#- the current version where it coded the utterance, else the one that coded it last -#}
    select
        codes.*,
        first_value(codes.codeframe_version) over (
            partition by codes.feedback_id
            order by
                case when codes.codeframe_version = current_version.codeframe_version then 1 else 0 end desc,
                codes.coded_at desc,
                codes.codeframe_version desc
        ) as newest_version
    from {{ source('udf', 'feedback_codes') }} as codes
    cross join current_version
),

codes as (
    select * from coded where codeframe_version = newest_version
)
{% endif %}

select
    codes.feedback_id,
    codes.code,
    codes.codeframe_version,
    codes.l1 as l1_name,
    codes.l2 as l2_name,
    codes.l3 as l3_name,
    cast(codes.sentiment as integer) as sentiment,
    codes.sentiment_score,
    codes.severity,
    codes.need_layer,
    codes.point_type,
    codes.evidence,
    codes."start" as evidence_start,
    codes."end" as evidence_end,
    unified.channel,
    unified.sub_channel,
    unified.event_date,
    unified.occurred_at,
    unified.customer_id,
    unified.dealer_code,
    unified.vehicle_model,
    unified.journey_stage,
    frame.owner_department
from codes
inner join {{ ref('int_feedback_unified') }} as unified
    on codes.feedback_id = unified.feedback_id
left join {{ ref('dim_codeframe') }} as frame
    on codes.code = frame.code
