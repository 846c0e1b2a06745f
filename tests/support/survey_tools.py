"""How each survey tool signs its webhook deliveries, for tests that post as the tool would.

Each function gives the headers the tool sends with `body`, their names in lower case, worked
out from the tool's documentation rather than from Kringloop's readers, so that a reader that
misreads a scheme fails its tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

# Typeform, Tally, Formbricks


def typeform_headers(secret: str, body: bytes) -> dict[str, str]:
    """`Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>` (no timestamp).
    https://www.typeform.com/developers/webhooks/secure-your-webhooks/"""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"content-type": "application/json",
            "typeform-signature": f"sha256={base64.b64encode(digest).decode()}"}


def tally_headers(secret: str, body: bytes) -> dict[str, str]:
    """`Tally-Signature: <base64 HMAC-SHA256 of the payload>` (no prefix, no timestamp).
    Tally's example signs JSON.stringify of the parsed payload, which is the compact body it
    posts; give this the body as Tally would have serialised it.
    https://tally.so/help/webhooks"""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"content-type": "application/json", "user-agent": "Tally Webhooks",
            "tally-signature": base64.b64encode(digest).decode()}


def formbricks_headers(secret: str, body: bytes, *, msg_id: str,
                       timestamp: int) -> dict[str, str]:
    """Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
    keyed with the base64 after `whsec_`, beside `webhook-id` and `webhook-timestamp`.
    https://formbricks.com/docs/platform/features/integrations/webhooks"""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return {"content-type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": f"v1,{base64.b64encode(digest).decode()}"}


# Delighted, SurveyMonkey, Qualtrics


def delighted_headers(api_key: str, body: bytes) -> dict[str, str]:
    """`X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, keyed with
    the Delighted project's API key (no timestamp).
    https://app.delighted.com/docs/api/webhooks"""
    digest = hmac.new(api_key.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json",
            "x-delighted-webhook-signature": f"sha256={digest}"}


def surveymonkey_headers(api_key: str, api_secret: str, body: bytes) -> dict[str, str]:
    """`Sm-Signature: <base64 HMAC-SHA1 of the raw body>` keyed with "<api key>&<api secret>",
    beside `Sm-Apikey: <api key>` (no timestamp).
    https://api.surveymonkey.com/v3/docs#webhooks"""
    digest = hmac.new(f"{api_key}&{api_secret}".encode(), body, hashlib.sha1).digest()
    return {"content-type": "application/json", "sm-apikey": api_key,
            "sm-signature": base64.b64encode(digest).decode()}


def qualtrics_signed_body(shared_key: str, body: bytes) -> bytes:
    """Qualtrics signs inside the form, not in a header: the notice `body` (fields Topic and
    MSG) as a subscription made with `shared_key` posts it, with an HMAC field holding the hex
    HMAC-SHA512 of MSG keyed with the shared key (no timestamp; Topic is not covered).
    https://community.qualtrics.com/qualtrics-api-13/hmac-signatures-for-webhook-subscriptions-12167"""
    # Imported here: this section comes after the file's shared imports.
    from urllib.parse import parse_qsl, urlencode

    fields = [(name, value) for name, value in parse_qsl(body.decode(), keep_blank_values=True)
              if name != "HMAC"]
    signature = hmac.new(shared_key.encode(), dict(fields)["MSG"].encode(),
                         hashlib.sha512).hexdigest()
    return urlencode([*fields[:1], ("HMAC", signature), *fields[1:]]).encode()


QUALTRICS_FORM = {"content-type": "application/x-www-form-urlencoded"}


# Posting as each tool would, to the example organisation's sources ----------------------------

# The vendors' documented deliveries and API answers, as tests/sources/tools cites them.
EXAMPLES = Path(__file__).resolve().parents[1] / "sources" / "examples"

# Each source's signing secret, under the variable the example organisation file names.
SECRETS = {
    "KRINGLOOP_HOOK_NPS_WEBSHOP": "typeform-secret-fietsenwinkel",
    "KRINGLOOP_HOOK_NPS_WINKELS": "delighted-api-key-0123456789",
    "KRINGLOOP_HOOK_NPS_WERKPLAATS": "tally-signing-secret-werkplaats",
    "KRINGLOOP_HOOK_NPS_LEASE": "whsec_" + base64.b64encode(b"formbricks-lease-32").decode(),
    "KRINGLOOP_HOOK_NPS_VERHUUR": "sm-api-key-verhuur&sm-api-secret-verhuur",
    "KRINGLOOP_HOOK_NPS_ZAKELIJK": "qualtrics-shared-key-zakelijk",
}
SOURCE_OF = {"typeform": "nps-webshop", "delighted": "nps-winkels", "tally": "nps-werkplaats",
             "formbricks": "nps-lease", "surveymonkey": "nps-verhuur",
             "qualtrics": "nps-zakelijk"}
SECRET_OF = {"typeform": "KRINGLOOP_HOOK_NPS_WEBSHOP", "delighted": "KRINGLOOP_HOOK_NPS_WINKELS",
             "tally": "KRINGLOOP_HOOK_NPS_WERKPLAATS", "formbricks": "KRINGLOOP_HOOK_NPS_LEASE",
             "surveymonkey": "KRINGLOOP_HOOK_NPS_VERHUUR",
             "qualtrics": "KRINGLOOP_HOOK_NPS_ZAKELIJK"}


def signed(kind: str, body: bytes, *, secret: str | None = None,
           sent_at: int | None = None) -> tuple[bytes, dict[str, str]]:
    """`body` as the tool posts it to its example source: (body, headers), signed with the
    source's secret (or `secret`, to sign wrongly); `sent_at` dates a Formbricks delivery."""
    import time

    secret = SECRETS[SECRET_OF[kind]] if secret is None else secret
    if kind == "typeform":
        return body, typeform_headers(secret, body)
    if kind == "tally":
        return body, tally_headers(secret, body)
    if kind == "formbricks":
        stamp = int(time.time()) if sent_at is None else sent_at
        return body, formbricks_headers(secret, body, msg_id=f"msg_{stamp}", timestamp=stamp)
    if kind == "delighted":
        return body, delighted_headers(secret, body)
    if kind == "surveymonkey":
        api_key, api_secret = secret.split("&") if "&" in secret else (secret, "")
        return body, surveymonkey_headers(api_key, api_secret, body)
    return qualtrics_signed_body(secret, body), dict(QUALTRICS_FORM)
