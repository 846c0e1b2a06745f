"""Email: rendering templates, the outbox that sends each email once, SMTP delivery and the embedded
sink."""
