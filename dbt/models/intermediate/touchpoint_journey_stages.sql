{{ config(materialized='ephemeral') }}
-- Which customer-journey stage a touchpoint belongs to: edit this list to re-map.
-- Ephemeral (inlined into int_feedback_unified) rather than a seed, so the mapping is built in
-- the same dbt invocation as the models that use it: a seed has no upstream and forms its own
-- Dagster step, which costs a dbt start-up on every refresh.
select touchpoint, journey_stage
from (
    values
        ('看车', 'consideration'),
        ('试驾', 'consideration'),
        ('购车', 'purchase'),
        ('交车', 'delivery'),
        ('APP', 'usage'),
        ('400热线', 'usage'),
        ('保养', 'service'),
        ('维修', 'service'),
        ('售后回访', 'service'),
        ('救援', 'service')
) as stages (touchpoint, journey_stage)
