{#- Share of utterances the current codeframe codes, per channel and day: the codeframe's health. -#}
with per_utterance as (
    select
        feedback_id,
        channel,
        event_date,
        max(case when code <> 'uncoded' then 1 else 0 end) as is_coded
    from {{ ref('fct_feedback_codes') }}
    group by feedback_id, channel, event_date
)

select
    channel,
    event_date,
    cast(count(*) as bigint) as utterances,
    cast(sum(is_coded) as bigint) as coded_utterances,
    cast(sum(is_coded) as double) / count(*) as coded_share
from per_utterance
group by channel, event_date
