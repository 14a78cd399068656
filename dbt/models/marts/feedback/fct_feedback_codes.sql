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
{#- the current version's codes; for an utterance it has not coded, the codes of the version that coded it
    last (no such rows in steady state, so the full build costs what a filter on the version costs) -#}
older_codes as (
    select codes.*
    from {{ source('udf', 'feedback_codes') }} as codes
    cross join current_version
    where codes.codeframe_version <> current_version.codeframe_version
        and not exists (
            select 1
            from {{ source('udf', 'feedback_codes') }} as recoded
            where recoded.feedback_id = codes.feedback_id
                and recoded.codeframe_version = current_version.codeframe_version
        )
),

last_coded as (
    select feedback_id, max(coded_at) as coded_at
    from older_codes
    group by feedback_id
),

codes as (
    select codes.*
    from {{ source('udf', 'feedback_codes') }} as codes
    inner join current_version on codes.codeframe_version = current_version.codeframe_version
    union all
    select older_codes.*
    from older_codes
    inner join last_coded
        on older_codes.feedback_id = last_coded.feedback_id and older_codes.coded_at = last_coded.coded_at
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
