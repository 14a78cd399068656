{#-
  Every dlt source writes two side tables beside its data: `quarantine` (rejected records)
  and `load_stats` (per-file counts). A source that never rejected anything has no quarantine
  table yet, so the audit models union only the side tables that exist.
-#}
{% macro union_raw_side_tables(table_name, columns) -%}
    {%- set selects = [] -%}
    {%- for family in var('raw_families') -%}
        {%- set src = source('raw_' ~ family, table_name) -%}
        {%- if execute and adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier) is not none -%}
            {%- do selects.append("select " ~ columns | join(", ") ~ " from " ~ src) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if selects -%}
        {{ selects | join("\nunion all\n") }}
    {%- else -%}
        {#- No side table exists yet: an empty relation with the same columns. -#}
        select {% for c in columns %}cast(null as {{ api.Column.translate_type('string') }}) as {{ c.split(' ')[-1] }}{% if not loop.last %}, {% endif %}{% endfor %}
        where 1 = 0
    {%- endif -%}
{%- endmacro %}
