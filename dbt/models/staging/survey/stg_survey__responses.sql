with source as (
    select * from {{ source('raw_survey', 'responses') }}
)

select
    response_id,
    survey_id,
    customer_id,
    touchpoint,
    cast(nps as integer) as nps,
    cast(csat as integer) as csat,
    {{ mask_pii('verbatim') }} as verbatim,
    submitted_at,
    {{ shanghai_date('submitted_at') }} as event_date,
    updated_at,
    nullif(trim(dealer_code), '') as dealer_code,
    _dlt_load_id as load_id
from source
