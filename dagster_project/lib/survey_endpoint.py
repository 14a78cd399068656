"""Where the survey platform's API lives: a configured URL in production, the local demo server otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from dagster_project.settings import load_settings


class SurveyEndpoint(dg.ConfigurableResource):
    """Yields (base_url, api_key). Without VOC_SURVEY_API_URL it serves the demo world's responses on 127.0.0.1."""

    @contextmanager
    def open(self) -> Iterator[tuple[str, str]]:
        settings = load_settings()
        if settings.survey_api_url:
            yield settings.survey_api_url, settings.survey_api_key
            return
        from ingestion.demo.survey_api import start_survey_api

        responses = settings.landing / "survey" / "responses.jsonl"
        if not responses.exists():
            raise FileNotFoundError(
                f"No survey API configured (VOC_SURVEY_API_URL) and no demo responses at {responses}: "
                "run `voc generate` or set VOC_SURVEY_API_URL and VOC_SURVEY_API_KEY."
            )
        with start_survey_api(responses, api_key=settings.survey_api_key) as server:
            yield server.url, settings.survey_api_key
