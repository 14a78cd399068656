{#-
  Every dlt source writes two side tables beside its data: `quarantine` (rejected records)
  and `load_stats` (per-file counts), both appended. Only rows of loads that dlt recorded as
  complete in `_dlt_loads` count: a load killed half-way is retried whole by the next run, and
  its partial rows must not be counted twice. A source that never rejected anything has no
  quarantine table yet, so only the side tables that exist are unioned.
-#}
{% macro union_raw_side_tables(table_name, columns) -%}
    {%- set selects = [] -%}
    {%- for family in var('raw_families') -%}
        {%- set side = source('raw_' ~ family, table_name) -%}
        {%- if execute and adapter.get_relation(database=side.database, schema=side.schema, identifier=side.identifier) is not none -%}
            {%- set loads = api.Relation.create(database=side.database, schema=side.schema, identifier='_dlt_loads') -%}
            {%- do selects.append(
                "select side." ~ (columns | join(", side.")) ~ ", side._dlt_load_id as load_id"
                ~ " from " ~ side ~ " as side"
                ~ " inner join " ~ loads ~ " as loads on side._dlt_load_id = loads.load_id and loads.status = 0"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if selects -%}
        {{ selects | join("\nunion all\n") }}
    {%- else -%}
        {#- No side table exists yet: an empty relation with the same columns. -#}
        select {% for c in columns + ['load_id'] %}cast(null as {{ api.Column.translate_type('string') }}) as {{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
        where 1 = 0
    {%- endif -%}
{%- endmacro %}
