{#-
  Personal data leaves staging masked. One home for the patterns:
  ID-card numbers first (they contain phone-like digit runs), then phones, VINs and plates.
-#}
{% macro mask_pii(text_expr) -%}
    {{ return(adapter.dispatch('mask_pii', 'voc_warehouse')(text_expr)) }}
{%- endmacro %}

{% macro pii_patterns() -%}
    {{ return([
        ('[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]', '[身份证]'),
        ('(\\+?86[ -]?)?1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}', '[手机号]'),
        ('[A-HJ-NPR-Z0-9]{17}', '[VIN]'),
        ('[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z][·・ ]?[A-Z0-9]{5,6}', '[车牌]'),
    ]) }}
{%- endmacro %}

{% macro default__mask_pii(text_expr) -%}
    {%- set ns = namespace(expr=text_expr) -%}
    {%- for pattern, token in pii_patterns() -%}
        {%- set ns.expr = "regexp_replace(" ~ ns.expr ~ ", '" ~ pattern ~ "', '" ~ token ~ "')" -%}
    {%- endfor -%}
    {{ ns.expr }}
{%- endmacro %}

{% macro duckdb__mask_pii(text_expr) -%}
    {%- set ns = namespace(expr=text_expr) -%}
    {%- for pattern, token in pii_patterns() -%}
        {%- set ns.expr = "regexp_replace(" ~ ns.expr ~ ", '" ~ pattern ~ "', '" ~ token ~ "', 'g')" -%}
    {%- endfor -%}
    {{ ns.expr }}
{%- endmacro %}

{#- A name becomes its surname plus asterisks (张**): readable in a service view, not identifying. -#}
{% macro mask_name(name_expr) -%}
    case when {{ name_expr }} is null then null
         else concat({{ dbt.safe_cast("left(" ~ name_expr ~ ", 1)", api.Column.translate_type("string")) }},
                     repeat('*', greatest(length({{ name_expr }}) - 1, 1))) end
{%- endmacro %}
