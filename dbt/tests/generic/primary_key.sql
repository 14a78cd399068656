{#-
  The column is a primary key: no null and no value twice. One grouped scan instead of dbt's
  `unique` and `not_null` (two test nodes, two scans); a failing row is the null group or a repeated key.
-#}
{% test primary_key(model, column_name) %}
select {{ column_name }} as key_value, count(*) as n
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1
{% endtest %}
