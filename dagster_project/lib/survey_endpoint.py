"""Where the survey platform's API lives: a configured URL in production, the local demo server otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from dagster_project.settings import DEMO_SURVEY_API_KEY, load_settings


class SurveyEndpoint(dg.ConfigurableResource):
    """Yields (base_url, api_key). Without a configured URL it serves the demo world's responses on 127.0.0.1."""

    @contextmanager
    def open(self) -> Iterator[tuple[str, str | None]]:
        """The API's base URL and key are settings.survey_base_url and settings.survey_api_key."""
        settings = load_settings()
        if settings.survey_base_url:
            if not settings.survey_api_key:
                raise dg.Failure(
                    description=(
                        f"The survey API at {settings.survey_base_url} is configured without a key: set VOC_SURVEY_API_KEY, "
                        "or api_key under [sources.survey] in .dlt/secrets.toml (SOURCES__SURVEY__API_KEY)."
                    )
                )
            yield settings.survey_base_url, settings.survey_api_key
            return
        from ingestion.demo.survey_api import start_survey_api

        responses = settings.landing / "survey" / "responses.jsonl"
        if not responses.exists():
            raise FileNotFoundError(
                f"No survey API configured (VOC_SURVEY_API_URL) and no demo responses at {responses}: "
                "run `voc generate`, or set VOC_SURVEY_API_URL and VOC_SURVEY_API_KEY (or dlt's "
                "sources.survey.base_url and sources.survey.api_key)."
            )
        api_key = settings.survey_api_key or DEMO_SURVEY_API_KEY
        with start_survey_api(responses, api_key=api_key) as server:
            yield server.url, api_key
