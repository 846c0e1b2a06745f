"""When a rejection goes out, in simulated time: a hold to cancel in, then working hours only."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from tests.support.mail import body_of
from tests.support.rejections import CERTIFICATE, Recruiting, applicant, rejection
from tests.support.working_days import AMSTERDAM, dutch_working_day, next_weekday_at


async def test_a_rejection_waits_out_the_hold_before_it_is_sent(recruiting: Recruiting) -> None:
    tuesday = next_weekday_at(await recruiting.now(), 2, time(10),
                              also_working=lambda d: dutch_working_day(d + timedelta(days=1)))
    await recruiting.travel_to(tuesday)
    lisa = applicant("hold-1")

    answer = await recruiting.reject(rejection(lisa))

    assert answer.status_code == 202, answer.text
    receipt = answer.json()
    assert receipt["status"] == "scheduled"
    send_at = datetime.fromisoformat(receipt["send_at"])
    assert send_at - tuesday - timedelta(hours=24) < timedelta(seconds=5), "24 h later, 10:00"
    await recruiting.sleep(timedelta(hours=23, minutes=50))
    assert not recruiting.kringloop.smtp.received, "nothing during the hold"

    await recruiting.sleep(timedelta(minutes=15))
    [email] = await recruiting.kringloop.smtp.wait_for(1)
    assert email["To"].addresses[0].addr_spec == lisa["email"]
    assert CERTIFICATE in body_of(email)
    sent = await recruiting.rejection_when(receipt["rejection_id"],
                                           lambda r: r["status"] == "sent")
    assert datetime.fromisoformat(sent["sent_at"]) >= send_at


async def test_a_rejection_made_late_on_friday_goes_out_on_monday_morning(
    recruiting: Recruiting,
) -> None:
    friday = next_weekday_at(await recruiting.now(), 5, time(16, 55),
                             also_working=lambda d: dutch_working_day(d + timedelta(days=3)))
    await recruiting.travel_to(friday)

    answer = await recruiting.reject(rejection(applicant("weekend-1")))

    assert answer.status_code == 202, answer.text
    send_at = datetime.fromisoformat(answer.json()["send_at"]).astimezone(AMSTERDAM)
    monday = friday.date() + timedelta(days=3)
    assert (send_at.date(), send_at.time()) == (monday, time(9)), send_at
    # Not on Saturday after the hold, not on Sunday, not before nine on Monday.
    await recruiting.sleep(send_at - friday - timedelta(minutes=5))
    assert not recruiting.kringloop.smtp.received
    await recruiting.sleep(timedelta(minutes=10))
    await recruiting.kringloop.smtp.wait_for(1)
    timeline = (await recruiting.rejection(answer.json()["rejection_id"]))["timeline"]
    assert [e["kind"] for e in timeline][:3] == ["received", "scheduled", "email_sent"]
    assert "Mon" in timeline[1]["detail"] and "09:00" in timeline[1]["detail"]


async def test_a_rejection_cancelled_during_the_hold_is_never_sent(
    recruiting: Recruiting, keep_history: Any,
) -> None:
    answer = await recruiting.reject(rejection(applicant("cancel-1")))
    rejection_id = answer.json()["rejection_id"]
    await recruiting.sleep(timedelta(hours=2))

    cancelled = await recruiting.cancel(rejection_id)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_at"]
    await recruiting.sleep(timedelta(days=5))
    assert await recruiting.ended(recruiting.mailing_of(rejection_id)) == "COMPLETED"
    assert not recruiting.kringloop.smtp.received
    found = await recruiting.rejection(rejection_id)
    assert found["status"] == "cancelled" and found["sent_at"] is None
    assert [e["kind"] for e in found["timeline"]] == ["received", "scheduled", "cancelled"]
    assert found["timeline"][-1]["actor"] == "admin"
    again = await recruiting.cancel(rejection_id)
    assert again.status_code == 200, "cancelling twice is harmless"
    await keep_history(recruiting.kringloop, recruiting.mailing_of(rejection_id),
                       "rejection_mailing_cancelled_in_the_hold")


async def test_an_explicit_send_at_overrides_the_hold_and_the_window(
    recruiting: Recruiting,
) -> None:
    today = (await recruiting.now()).astimezone(AMSTERDAM).date()
    sunday = today + timedelta(days=7 - today.isoweekday() or 7)
    sunday_night = datetime.combine(sunday, time(3), AMSTERDAM)
    body = rejection(applicant("override-1"), send_at=sunday_night.isoformat())

    answer = await recruiting.reject(body)

    assert answer.status_code == 202, answer.text
    assert datetime.fromisoformat(answer.json()["send_at"]) == sunday_night
    await recruiting.travel_to(sunday_night + timedelta(minutes=1))
    await recruiting.kringloop.smtp.wait_for(1)
    found = await recruiting.rejection_when(answer.json()["rejection_id"],
                                            lambda r: r["status"] == "sent")
    assert "at the moment the recruiter chose" in found["timeline"][1]["detail"]


async def test_a_sent_rejection_cannot_be_cancelled(recruiting: Recruiting) -> None:
    now = await recruiting.now()
    answer = await recruiting.reject(rejection(applicant("late-cancel"),
                                               send_at=now.isoformat()))
    rejection_id = answer.json()["rejection_id"]
    await recruiting.kringloop.smtp.wait_for(1)
    await recruiting.rejection_when(rejection_id, lambda r: r["status"] == "sent")

    refused = await recruiting.cancel(rejection_id)

    assert refused.status_code == 409, refused.text
    assert "already been sent" in refused.json()["message"]
    assert refused.json()["field"] == "status"
    assert (await recruiting.rejection(rejection_id))["status"] == "sent"
