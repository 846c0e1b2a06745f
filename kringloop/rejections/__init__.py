"""Considerate rejections: a recruiter's reasons, the vacancy's mailing, the feedback call and the
candidate survey."""
