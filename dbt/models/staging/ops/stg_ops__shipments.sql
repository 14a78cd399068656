select
    shipment_id,
    dealer_code,
    region,
    carrier_code,
    part_category,
    shipped_at,
    delivered_at,
    cast(damaged as integer) = 1 as is_damaged,
    updated_at
from {{ source('raw_ops', 'shipments') }}
