{#-
  Share of utterances the current codeframe codes, per channel and day: the codeframe's health.
  The share is of utterances with text: a store visit or survey response without a comment is
  counted (utterances) but no codeframe could code it, so it does not lower the share. Texts are
  counted per day straight from int_feedback_unified and joined as counts: joining the texts
  themselves to the codes held every text of the history in memory at once.
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

coded as (
    select channel, event_date, count(*) as utterances, sum(is_coded) as coded_utterances
    from per_utterance
    group by channel, event_date
),

texts as (
    select
        channel,
        event_date,
        count(text) as utterances_with_text  -- int_feedback_unified makes a blank text null
    from {{ ref('int_feedback_unified') }}
    group by channel, event_date
)

select
    coded.channel,
    coded.event_date,
    cast(coded.utterances as bigint) as utterances,
    cast(coalesce(texts.utterances_with_text, 0) as bigint) as utterances_with_text,
    cast(coded.coded_utterances as bigint) as coded_utterances,
    cast(coded.coded_utterances as double) / nullif(texts.utterances_with_text, 0) as coded_share
from coded
left join texts
    on coded.channel = texts.channel and coded.event_date = texts.event_date
