select
    dealer_code,
    name as dealer_name,
    city,
    province,
    region,
    opened_at,
    updated_at
from {{ source('raw_store', 'dealers') }}
