{#- Codes of the current codeframe version exist in the codeframe table. Days a new version has not
    re-coded yet keep their earlier version's codes, which it may have renamed or dropped: those rows
    are not the current codeframe's to answer for (dbt's relationships test cannot filter on a ref).
    `model` may be a windowed subquery (macros/test_window.sql), so it takes no alias here. -#}
{% test in_current_codeframe(model, column_name, codeframe) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} <> 'uncoded'
    and codeframe_version = (select max(codeframe_version) from {{ codeframe }})
    and {{ column_name }} not in (select code from {{ codeframe }} where code is not null)
{% endtest %}
