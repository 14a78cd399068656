select
    ticket_id,
    customer_id,
    vin,
    channel,
    category,
    status,
    opened_at,
    closed_at,
    updated_at
from {{ source('raw_crm', 'service_tickets') }}
