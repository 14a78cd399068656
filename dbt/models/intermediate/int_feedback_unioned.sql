{{ config(materialized='view') }}
{#- Every staged utterance of the five channels in one shape, over all days: what int_feedback_unified
    selects its window from, and what tells the utterances it does not hold yet (tests/every_staged_utterance_is_unified.sql). -#}

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
)

select * from calls
union all select * from surveys
union all select * from messages
union all select * from posts
union all select * from visits
