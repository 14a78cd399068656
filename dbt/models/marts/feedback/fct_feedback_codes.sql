{#-
  Codes of the current codeframe version with the utterance attributes BI filters on.
  Incremental by event_date over the same window as int_feedback_unified and the coding step
  (partition window plus lookback): whole days are replaced, so a re-coded or late utterance
  is picked up; rows of an older codeframe version are removed first (history of a new version
  arrives through a backfill, as in intermediate.feedback_codes).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_date',
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where codeframe_version not in (select codeframe_version from {{ ref('dim_codeframe') }}){% endif %}"
) }}

with current_version as (
    select max(codeframe_version) as codeframe_version from {{ ref('dim_codeframe') }}
),

codes as (
    select codes.*
    from {{ source('udf', 'feedback_codes') }} as codes
    inner join current_version on codes.codeframe_version = current_version.codeframe_version
    {% if is_incremental() %}
    where {{ in_partition_window('codes.event_date') }}
    {% endif %}
)

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
