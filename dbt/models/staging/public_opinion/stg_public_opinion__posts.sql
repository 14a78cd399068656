with source as (
    select * from {{ source('raw_public_opinion', 'posts') }}
)

select
    post_id,
    platform,
    handle,
    nickname,
    published_at,
    {{ shanghai_date('published_at') }} as event_date,
    {{ mask_pii('title') }} as title,
    {{ mask_pii('text') }} as text,
    cast(coalesce(likes, 0) as integer) as likes,
    cast(coalesce(reposts, 0) as integer) as reposts,
    cast(coalesce(comments, 0) as integer) as comments,
    ip_city,
    url,
    _voc_source_file as source_file,
    _dlt_load_id as load_id
from source
