{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_feedback_unified'}}}) }}
{#-
  A record loaded after its day was built, older than the lookback (a post crawled weeks late, survey
  responses of days no refresh covered), is staged but not unified until a refresh covers its day.
  Per channel, how many staged utterances int_feedback_unified does not hold (counts only: cheap on
  every refresh; the refresh summary names their days and the command that unifies them).
-#}
with staged as (
    select channel, count(*) as utterances from {{ ref('int_feedback_unioned') }} group by channel
),

unified as (
    select channel, count(*) as utterances from {{ ref('int_feedback_unified') }} group by channel
)

select staged.channel, staged.utterances - coalesce(unified.utterances, 0) as not_unified
from staged
left join unified on staged.channel = unified.channel
where staged.utterances > coalesce(unified.utterances, 0)
