with source as (
    select * from {{ source('raw_call_center', 'calls') }}
)

select
    call_id,
    started_at,
    {{ shanghai_date('started_at') }} as event_date,
    phone_hash,
    nullif(trim(vin), '') as vin,
    nullif(trim(ticket_id), '') as ticket_id,
    queue,
    agent_id,
    cast(duration_s as integer) as duration_s,
    {{ mask_pii('asr_text') }} as asr_text,
    {{ mask_pii('agent_summary') }} as agent_summary,
    nullif(trim(dealer_code), '') as dealer_code,
    _voc_source_file as source_file,
    _dlt_load_id as load_id
from source
