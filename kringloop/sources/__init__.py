"""Survey tools' own webhooks (Typeform, Delighted, Tally, Formbricks, SurveyMonkey, Qualtrics)."""
