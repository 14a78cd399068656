select
    vin,
    customer_id,
    model,
    trim as trim_level,
    software_version,
    case when plate is null then null else concat(left(plate, 2), '***') end as plate_masked,
    cast(purchase_date as date) as purchase_date,
    dealer_code,
    updated_at
from {{ source('raw_crm', 'vehicles') }}
