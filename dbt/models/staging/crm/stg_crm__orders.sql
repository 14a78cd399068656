select
    order_id,
    customer_id,
    dealer_code,
    model,
    trim as trim_level,
    cast(price as {{ dbt.type_numeric() }}) as price,
    channel,
    status,
    ordered_at,
    updated_at
from {{ source('raw_crm', 'orders') }}
