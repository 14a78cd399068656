{{
  config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='feedback_id',
    on_schema_change='append_new_columns',
  )
}}
{#- One row per utterance from all five channels, with the identity keys each channel carries. -#}

with windowed as (
    select * from {{ ref('int_feedback_unioned') }}
    {% if is_incremental() %}
    where {{ in_partition_window('event_date') }}
        and {{ in_partition_window_at('occurred_at') }}
        {%- set held_loads = held_lookback_loads() %}
        {%- if held_loads is not none %}
        {#- The lookback days only for records of loads the model does not hold yet: late and updated ones. #}
        and ({{ in_partition_window('event_date', lookback=false) }}
            or {{ not_in_literals(channel_load_key(), held_loads) }})
        {%- endif %}
    {% endif %}
),

vehicles as (
    select vin, customer_id, model from {{ ref('stg_crm__vehicles') }}
),

latest_vehicle_per_customer as (
    select customer_id, model
    from (
        select
            customer_id,
            model,
            row_number() over (partition by customer_id order by purchase_date desc, vin) as recency
        from {{ ref('stg_crm__vehicles') }}
    ) ranked
    where recency = 1
)

select
    windowed.feedback_id,
    windowed.channel,
    windowed.sub_channel,
    windowed.source_record_id,
    windowed.occurred_at,
    windowed.event_date,
    case when trim(windowed.text) = '' then null else windowed.text end as text,  -- blank is no text
    windowed.title,
    windowed.touchpoint,
    stages.journey_stage,
    coalesce(windowed.customer_id, by_vin.customer_id) as customer_id,
    windowed.phone_hash,
    windowed.vin,
    windowed.app_user_id,
    windowed.wechat_unionid,
    windowed.platform,
    windowed.handle,
    windowed.dealer_code,
    coalesce(by_vin.model, by_customer.model) as vehicle_model,
    windowed.nps,
    windowed.csat,
    windowed.rating,
    windowed.likes,
    windowed.reposts,
    windowed.load_id
from windowed
left join vehicles as by_vin
    on windowed.vin = by_vin.vin
left join latest_vehicle_per_customer as by_customer
    on windowed.customer_id = by_customer.customer_id
left join {{ ref('touchpoint_journey_stages') }} as stages
    on windowed.touchpoint = stages.touchpoint
