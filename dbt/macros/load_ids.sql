{#-
  The loads whose records an incremental model (`this`, keeping each record's `channel` and `load_id`)
  already holds for the lookback days before the run's window, as 'channel:load_id' strings; none on a
  first build, without a window, or when the model was built before it kept load ids (it then
  re-selects its whole lookback). Any other load's record dated in those days is late or updated. Held
  loads rather than the newest held id: dlt completes an interrupted package in a later run under its
  older load id, and a package's tables can land in different builds (per-channel pairs).
-#}
{% macro held_lookback_loads() -%}
    {%- set window = partition_window() -%}
    {%- if not execute or not is_incremental() or window is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if 'load_id' not in adapter.get_columns_in_relation(this) | map(attribute='name') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set held_loads_query -%}
        select distinct {{ channel_load_key() }}
        from {{ this }}
        where {{ in_partition_window('event_date') }}
            and not ({{ in_partition_window('event_date', lookback=false) }})
            and load_id is not null
    {%- endset -%}
    {{ return(run_query(held_loads_query).columns[0].values() | list) }}
{%- endmacro %}

{#- A record's load as 'channel:load_id': what held_lookback_loads returns and models compare with it. -#}
{% macro channel_load_key() -%}
    {{ dbt.concat(['channel', "':'", 'load_id']) }}
{%- endmacro %}

{#- `expression not in (the values)` as SQL string literals; with no values, true (nothing is excluded). -#}
{% macro not_in_literals(expression, values) -%}
    {%- if values | length == 0 -%}
        true
    {%- else -%}
        {{ expression }} not in (
            {%- for value in values -%}
                '{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}
            {%- endfor -%}
        )
    {%- endif -%}
{%- endmacro %}
