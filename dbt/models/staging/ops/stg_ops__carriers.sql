select
    carrier_code,
    name as carrier_name,
    updated_at
from {{ source('raw_ops', 'carriers') }}
