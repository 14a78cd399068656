{#-
  Share of utterances the current codeframe codes, per channel and day: the codeframe's health.
  The share is of utterances with text: a store visit or survey response without a comment is
  counted (utterances) but no codeframe could code it, so it does not lower the share.
-#}
with per_utterance as (
    select
        feedback_id,
        channel,
        event_date,
        max(case when code <> 'uncoded' then 1 else 0 end) as is_coded
    from {{ ref('fct_feedback_codes') }}
    group by feedback_id, channel, event_date
),

with_text as (
    select
        per_utterance.channel,
        per_utterance.event_date,
        per_utterance.is_coded,
        case when nullif(trim(unified.text), '') is null then 0 else 1 end as has_text
    from per_utterance
    inner join {{ ref('int_feedback_unified') }} as unified
        on per_utterance.feedback_id = unified.feedback_id
)

select
    channel,
    event_date,
    cast(count(*) as bigint) as utterances,
    cast(sum(has_text) as bigint) as utterances_with_text,
    cast(sum(is_coded) as bigint) as coded_utterances,
    cast(sum(is_coded) as double) / nullif(sum(has_text), 0) as coded_share
from with_text
group by channel, event_date
