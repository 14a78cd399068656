{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
  )
}}
{#-
  Every rejected record of every source, with its reason; the raw payload is masked like staging text.
  Incremental by load: a completed dlt load never changes, so a run appends the loads it has not seen
  (masking a 100 KB oversized payload once, not on every run). `--full-refresh` rebuilds it.
-#}
with quarantined as (
    {{ union_raw_side_tables('quarantine', [
        'source', 'file', 'line', 'record_id', 'reason', 'detail', 'raw_payload', 'run_id', 'quarantined_at'
    ]) }}
)

select
    source,
    file,
    cast(line as integer) as line,
    record_id,
    reason,
    detail,
    {{ mask_pii('raw_payload') }} as raw_payload,
    run_id,
    load_id,
    cast(quarantined_at as {{ dbt.type_timestamp() }}) as quarantined_at
from quarantined
{% if is_incremental() %}
where not exists (select 1 from {{ this }} as seen where seen.load_id = quarantined.load_id)
{% endif %}
