{#- Every rejected record of every source, with its reason; the raw payload is masked like staging text. -#}
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
