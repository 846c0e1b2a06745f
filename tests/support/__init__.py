"""What the tests share besides their fixtures (tests/conftest.py and the folders' conftest.py
files hold those), one module a subject:

- people: the people of the example organisation whom several tests meet
- kringloop: Kringloop in the test's own process (`Kringloop`, `ADMIN`), histories as text
- mail: the SMTP server the tests read (`MailServer`), an email's text and links, the outbox
- web: a person's browser on the pages, an API client, what a refusal must look like
- pages: a page read from its HTML: an element, a queue row, accessibility, nothing that runs
- command: the `kringloop` command in an environment with nothing of the developer's shell
- stack: `kringloop up` in a process of its own, and a detractor posted to it
- chromium: a member in a real browser on `kringloop up`
- deployment: the Dockerfile and docker-compose.yml read without Docker, the image's file
  tree built from the Dockerfile's own lines
- tls_proxy: a certificate authority and a TLS front for the dev server (mTLS, ALPN h2)
- survey_tools: each survey tool's webhook signature, worked out from its documentation, and
  a delivery posted as the tool would to the example organisation's sources
- survey_tool_apis: SurveyMonkey's and Qualtrics' response APIs as a local HTTP server
- intake, enps, cases, rejections, reports, working_days: the domains' building blocks
"""
