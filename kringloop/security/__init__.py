"""Secrets: passwords, tokens, sign-in links and sessions, sealed links and encrypted workflow
payloads."""
