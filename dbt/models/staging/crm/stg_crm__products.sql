select
    model,
    trim as trim_level,
    powertrain,
    cast(msrp as {{ dbt.type_numeric() }}) as msrp,
    launched_at,
    updated_at
from {{ source('raw_crm', 'products') }}
