with source as (
    select * from {{ source('raw_store', 'store_visits') }}
)

select
    visit_id,
    dealer_code,
    nullif(trim(customer_id), '') as customer_id,
    phone_hash,
    nullif(trim(vin), '') as vin,
    visit_type,
    visited_at,
    {{ shanghai_date('visited_at') }} as event_date,
    {{ mask_pii('advisor_note') }} as advisor_note,
    cast(rating as integer) as rating,
    updated_at,
    _dlt_load_id as load_id
from source
