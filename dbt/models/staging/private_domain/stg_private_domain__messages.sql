with source as (
    select * from {{ source('raw_private_domain', 'messages') }}
)

select
    message_id,
    channel,
    sent_at,
    {{ shanghai_date('sent_at') }} as event_date,
    {{ mask_pii('text') }} as text,
    nullif(trim(wechat_unionid), '') as wechat_unionid,
    nullif(trim(app_user_id), '') as app_user_id,
    nullif(trim(customer_id), '') as customer_id,
    session_id,
    nullif(trim(dealer_code), '') as dealer_code,
    _voc_source_file as source_file,
    _dlt_load_id as load_id
from source
