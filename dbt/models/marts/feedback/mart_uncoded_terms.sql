select
    term,
    utterances,
    share_of_uncoded,
    score,
    examples,
    codeframe_version,
    window_start,
    window_end,
    row_number() over (order by score desc, term) as term_rank
from {{ source('udf', 'uncoded_terms') }}
