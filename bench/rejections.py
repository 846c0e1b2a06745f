"""Figure 4: a vacancy's rejection batch delivered per second, against rendering and sending
the same emails over one reused SMTP connection in a plain loop."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import aiosmtplib
from sqlmodel import col, select

from bench.embedded import Bench
from bench.figures import Figure
from bench.traffic import until_delivered
from kringloop.database import session_for

NOT_AVAILABLE = "rejection API not available"
# Applicants per request: a vacancy's 1,000 go in as a recruiter's tool would post them.
PER_REQUEST = 250
REASON = ("Voor deze functie zochten we iemand met minstens twee jaar ervaring in het "
          "onderhoud van elektrische fietsen, en die ervaring heb je nog niet.")


def batch(tag: str, count: int) -> dict[str, object]:
    """A batch for one vacancy; `send_at` now skips the hold and the send window."""
    now = datetime.now(UTC).isoformat()
    return {"vacancy_title": "Fietsenmaker niveau 3", "items": [
        {"applicant": {"id": f"{tag}-{i:05d}", "name": "Sam Jansen",
                       "email": f"{tag}-{i:05d}@bench.example",
                       "language": "nl" if i % 4 else "en"},
         "stage": "interview", "reasons": [{"code": "experience", "sentence": REASON}],
         "send_at": now}
        for i in range(count)]}


async def _plain_loop(bench: Bench, vacancy_id: str) -> tuple[float, int]:
    """Render and send every rejection of the vacancy again, over one SMTP connection."""
    from kringloop.rejections.emails import compose, outgoing
    from kringloop.rejections.messages import RejectionEmail
    from kringloop.rejections.models import Rejection

    settings = bench.running.settings
    with session_for(bench.running.engine) as session:
        rows = session.exec(select(Rejection).where(Rejection.vacancy_id == vacancy_id)
                            .order_by(col(Rejection.id))).all()
    assert settings.smtp_host is not None
    begin = time.perf_counter()
    async with aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port) as smtp:
        for row in rows:
            key = f"plain-{row.id}:rejection:1"
            # The activity's own composition and envelope: both sides send the very same email.
            email = compose(kind="rejection", row=row, org=bench.running.org, settings=settings)
            envelope = outgoing(order=RejectionEmail(rejection_id=row.id, kind="rejection",
                                                     key=key),
                                row=row, org=bench.running.org, settings=settings)
            message = envelope.message(email, settings=settings,
                                       message_id=envelope.message_id(settings))
            await smtp.send_message(message)
    return len(rows) / (time.perf_counter() - begin), len(rows)


async def rejection_mail_ratio(bench: Bench, *, count: int) -> Figure:
    tag = f"rb{int(time.time())}"
    vacancy_id = f"vac-{tag}"
    items = batch(tag, count)["items"]
    begin = time.time()
    for start in range(0, count, PER_REQUEST):  # a request body is limited (256 kB)
        part = {"vacancy_title": "Fietsenmaker niveau 3",
                "items": items[start:start + PER_REQUEST]}
        answer = await bench.http.post(f"/api/vacancies/{vacancy_id}/rejections", json=part)
        if answer.status_code in (404, 405):
            return Figure("rejection_mail_ratio", None, ">= 0.8", note=NOT_AVAILABLE)
        if answer.status_code != 202 or answer.json().get("accepted") != len(part["items"]):
            raise RuntimeError(f"the rejection batch was not accepted whole: "
                               f"{answer.status_code} {answer.text[:500]}")
    accepted = time.time() - begin
    sent = await until_delivered(bench, kinds=("rejection",), key_prefix=f"rej-{tag}-",
                                 count=count, timeout=120 + 2 * count)
    if len(sent) < count:
        raise RuntimeError(f"only {len(sent)} of {count} rejection emails were delivered")
    seconds = max(at_sink for _, at_sink in sent.values()) - begin
    rate = count / seconds
    plain_rate, plain_count = await _plain_loop(bench, vacancy_id)
    assert plain_count == count
    return Figure(
        "rejection_mail_ratio", rate / plain_rate, ">= 0.8",
        baseline=f"the same {count} emails rendered and sent over one reused SMTP connection "
                 f"in a plain loop ({plain_rate:.0f}/s)",
        versus=f"plain loop {plain_rate:.0f}/s, Kringloop {rate:.1f}/s",
        details={"kringloop": f"{rate:.1f} emails/s ({count} in {seconds:.1f} s; the batch "
                              f"requests themselves took {accepted:.1f} s)",
                 "plain loop": f"{plain_rate:.1f} emails/s"})
