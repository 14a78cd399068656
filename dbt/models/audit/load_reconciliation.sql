{#-
  Per source and completed dlt load: records seen = loaded + quarantined + deduplicated.
  `quarantine_rows` counts what really sits in audit.quarantine for that load, so a
  count that was claimed but not written shows up as `adds_up = false`.
-#}
with stats as (
    {{ union_raw_side_tables('load_stats', [
        'source', 'file', 'run_id', 'records_seen', 'records_loaded', 'records_quarantined',
        'records_deduplicated', 'loaded_at'
    ]) }}
),

per_load as (
    select
        source,
        load_id,
        run_id,
        min(cast(loaded_at as {{ dbt.type_timestamp() }})) as loaded_at,
        count(*) as files,
        sum(cast(records_seen as bigint)) as records_seen,
        sum(cast(records_loaded as bigint)) as records_loaded,
        sum(cast(records_quarantined as bigint)) as records_quarantined,
        sum(cast(records_deduplicated as bigint)) as records_deduplicated
    from stats
    group by source, load_id, run_id
),

quarantine_rows as (
    select source, load_id, count(*) as quarantine_rows
    from {{ ref('quarantine') }}
    group by source, load_id
)

select
    per_load.source,
    per_load.load_id,
    per_load.run_id,
    per_load.loaded_at,
    per_load.files,
    per_load.records_seen,
    per_load.records_loaded,
    per_load.records_quarantined,
    per_load.records_deduplicated,
    coalesce(quarantine_rows.quarantine_rows, 0) as quarantine_rows,
    per_load.records_seen = per_load.records_loaded + per_load.records_quarantined + per_load.records_deduplicated
        and per_load.records_quarantined = coalesce(quarantine_rows.quarantine_rows, 0) as adds_up
from per_load
left join quarantine_rows
    on per_load.source = quarantine_rows.source
    and per_load.load_id = quarantine_rows.load_id
