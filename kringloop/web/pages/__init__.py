"""The workspace pages and the pages respondents open from their emails."""
