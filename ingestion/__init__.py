"""dlt ingestion of every channel: one package per source family, each with its own folder in the landing zone."""

FAMILIES = ("call_center", "private_domain", "public_opinion", "survey", "store", "crm", "ops")
