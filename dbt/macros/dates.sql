{#- Event dates are Asia/Shanghai calendar days of a UTC timestamp. -#}
{% macro shanghai_date(ts_expr) -%}
    {{ return(adapter.dispatch('shanghai_date', 'voc_warehouse')(ts_expr)) }}
{%- endmacro %}

{% macro default__shanghai_date(ts_expr) -%}
    cast(from_utc_timestamp({{ ts_expr }}, 'Asia/Shanghai') as date)
{%- endmacro %}

{% macro duckdb__shanghai_date(ts_expr) -%}
    cast(timezone('Asia/Shanghai', {{ ts_expr }}) as date)
{%- endmacro %}

{#-
  The partition window of this run as a predicate on an event-date column:
  [start_date - lookback_days, end_date) when a window is given, always true otherwise.
  Dagster passes the window as environment variables (VOC_DBT_START_DATE, VOC_DBT_END_DATE,
  VOC_DBT_LOOKBACK_DAYS) rather than --vars: changed --vars force dbt to re-parse the whole
  project on every run. `--vars '{start_date: ..., end_date: ...}'` still works by hand.
-#}
{% macro in_partition_window(date_expr, lookback=true) -%}
    {%- set window = partition_window() -%}
    {%- if window is none -%}
        1 = 1
    {%- else -%}
        {%- set days_back = (var('lookback_days', none) or env_var('VOC_DBT_LOOKBACK_DAYS', '3')) | int if lookback else 0 -%}
        {{ date_expr }} >= {{ dbt.dateadd('day', -1 * days_back, "cast('" ~ window[0] ~ "' as date)") }}
        and {{ date_expr }} < cast('{{ window[1] }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- The run's window as [start_date, end_date), or none when the run has none (everything). -#}
{% macro partition_window() -%}
    {%- set start_date = var('start_date', none) or env_var('VOC_DBT_START_DATE', '') or none -%}
    {%- set end_date = var('end_date', none) or env_var('VOC_DBT_END_DATE', '') or none -%}
    {{ return(none if start_date is none or end_date is none else [start_date, end_date]) }}
{%- endmacro %}
