{{
  config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='feedback_id',
    on_schema_change='append_new_columns',
  )
}}
{#- One row per utterance from all five channels, with the identity keys each channel carries. -#}

with calls as (
    select
        concat('call_center:', call_id) as feedback_id,
        'call_center' as channel,
        queue as sub_channel,
        call_id as source_record_id,
        started_at as occurred_at,
        event_date,
        asr_text as text,
        cast(null as {{ dbt.type_string() }}) as title,
        '400热线' as touchpoint,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        phone_hash,
        vin,
        cast(null as {{ dbt.type_string() }}) as app_user_id,
        cast(null as {{ dbt.type_string() }}) as wechat_unionid,
        cast(null as {{ dbt.type_string() }}) as platform,
        cast(null as {{ dbt.type_string() }}) as handle,
        dealer_code,
        cast(null as integer) as nps,
        cast(null as integer) as csat,
        cast(null as integer) as rating,
        cast(null as integer) as likes,
        cast(null as integer) as reposts,
        load_id
    from {{ ref('stg_call_center__calls') }}
),

surveys as (
    select
        concat('survey:', response_id), 'survey', survey_id, response_id,
        submitted_at, event_date, verbatim, null, touchpoint,
        customer_id, null, null, null, null, null, null, dealer_code,
        nps, csat, null, null, null, load_id
    from {{ ref('stg_survey__responses') }}
),

messages as (
    select
        concat('private_domain:', message_id), 'private_domain', channel, message_id,
        sent_at, event_date, text, null, case when channel = 'app' then 'APP' end,
        customer_id, null, null, app_user_id, wechat_unionid, null, null, dealer_code,
        null, null, null, null, null, load_id
    from {{ ref('stg_private_domain__messages') }}
),

posts as (
    select
        concat('public_opinion:', post_id), 'public_opinion', platform, post_id,
        published_at, event_date, text, title, null,
        null, null, null, null, null, platform, handle, null,
        null, null, null, likes, reposts, load_id
    from {{ ref('stg_public_opinion__posts') }}
),

visits as (
    select
        concat('store:', visit_id), 'store', visit_type, visit_id,
        visited_at, event_date, advisor_note, null, visit_type,
        customer_id, phone_hash, vin, null, null, null, null, dealer_code,
        null, null, rating, null, null, load_id
    from {{ ref('stg_store__visits') }}
),

unioned as (
    select * from calls
    union all select * from surveys
    union all select * from messages
    union all select * from posts
    union all select * from visits
),

windowed as (
    select * from unioned
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
