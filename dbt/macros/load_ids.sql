{#-
  The newest dlt load id among the rows of an incremental model (`this`) that keeps the `load_id` of
  its records, as a string, or none: on a first build, when the model is empty, or when it was built
  before it kept load ids (the model then re-selects its whole lookback, as before). Load ids are
  the load's unix time, so a greater id is a later load.
-#}
{% macro newest_load_id() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if 'load_id' not in adapter.get_columns_in_relation(this) | map(attribute='name') -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(run_query('select max(load_id) from ' ~ this).columns[0].values()[0]) }}
{%- endmacro %}
