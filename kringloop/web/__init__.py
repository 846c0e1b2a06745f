"""The web app: intake webhooks, the JSON API and respondent-facing pages."""
