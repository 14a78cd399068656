select
    code,
    level,
    parent_code,
    l1_code,
    l2_code,
    name_zh,
    name_en,
    need_layer,
    default_severity,
    owner_department,
    keywords,
    codeframe_version
from {{ source('udf', 'codeframe') }}
