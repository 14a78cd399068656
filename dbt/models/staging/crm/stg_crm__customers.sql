{#- Names leave staging masked (张**); phones and ID cards arrived hashed from ingestion. -#}
select
    customer_id,
    {{ mask_name('name') }} as name_masked,
    phone_hash,
    id_card_hash,
    gender,
    cast(birth_year as integer) as birth_year,
    city,
    province,
    tier,
    nullif(trim(app_user_id), '') as app_user_id,
    nullif(trim(wechat_unionid), '') as wechat_unionid,
    created_at,
    updated_at
from {{ source('raw_crm', 'customers') }}
