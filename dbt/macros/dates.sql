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
    {{ window_range(date_expr, lookback, on_instant=false) }}
{%- endmacro %}

{#-
  The same window on the UTC instant a Shanghai event date is derived from. It selects exactly the
  rows `in_partition_window` selects, but compares the stored column itself, so the engine skips
  storage blocks outside the window by their min/max (DuckDB zonemaps, Parquet statistics) instead of
  deriving every row's date: a daily run reads its days, not the year. Add it beside the date predicate.
-#}
{% macro in_partition_window_at(instant_expr, lookback=true) -%}
    {{ window_range(instant_expr, lookback, on_instant=true) }}
{%- endmacro %}

{% macro window_range(expr, lookback, on_instant) -%}
    {%- set window = partition_window() -%}
    {%- if window is none -%}
        1 = 1
    {%- else -%}
        {%- set first = dbt.dateadd('day', -1 * lookback_days(lookback), "cast('" ~ window[0] ~ "' as date)") -%}
        {%- set after = "cast('" ~ window[1] ~ "' as date)" -%}
        {{ expr }} >= {{ shanghai_midnight(first) if on_instant else first }}
        and {{ expr }} < {{ shanghai_midnight(after) if on_instant else after }}
    {%- endif -%}
{%- endmacro %}

{% macro lookback_days(lookback=true) -%}
    {{ return((var('lookback_days', none) or env_var('VOC_DBT_LOOKBACK_DAYS', '3')) | int if lookback else 0) }}
{%- endmacro %}

{#- The UTC instant at which a calendar day starts in Asia/Shanghai. -#}
{% macro shanghai_midnight(date_expr) -%}
    {{ return(adapter.dispatch('shanghai_midnight', 'voc_warehouse')(date_expr)) }}
{%- endmacro %}

{% macro default__shanghai_midnight(date_expr) -%}
    to_utc_timestamp(cast({{ date_expr }} as timestamp), 'Asia/Shanghai')
{%- endmacro %}

{% macro duckdb__shanghai_midnight(date_expr) -%}
    timezone('Asia/Shanghai', cast({{ date_expr }} as timestamp))
{%- endmacro %}

{#- The run's window as [start_date, end_date), or none when the run has none (everything). -#}
{% macro partition_window() -%}
    {%- set start_date = var('start_date', none) or env_var('VOC_DBT_START_DATE', '') or none -%}
    {%- set end_date = var('end_date', none) or env_var('VOC_DBT_END_DATE', '') or none -%}
    {{ return(none if start_date is none or end_date is none else [start_date, end_date]) }}
{%- endmacro %}
