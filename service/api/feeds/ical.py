"""The timeline as an iCalendar (RFC 5545): all-day entries for events dated to the day or by days."""

from __future__ import annotations

import datetime as dt

import icalendar

from events.vocabulary import MeetingHeld
from service.api.feeds.text import (
    FEED_TITLE,
    UID_DOMAIN,
    Urls,
    headline,
    plain_text,
    recorded,
    revised,
    type_of,
)
from service.query.timeline import TimelinePage


def calendar(page: TimelinePage, urls: Urls, imprecise: bool) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Negotiation Timeline//Timeline feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", FEED_TITLE)
    left_out = (
        "Events known to the month or year are shown as entries spanning that interval (an interval with an "
        "open end, its start)."
        if imprecise
        else "Events known only to the month or year, or from a date on with an open end, are left out (add "
        "imprecise=true to include them)."
    )
    cal.add(
        "x-wr-caldesc",
        "Events of the negotiation timeline with a day-precision date or interval of days, as all-day "
        "entries. "
        f"{left_out} DTSTAMP is when an event was recorded. At most limit events per calendar; "
        "the next ones are at X-NEXT-URL.",
    )
    if urls.next:
        cal.add("x-next-url", urls.next)
    for item in page.items:
        event = item.effective.event
        occurred = event.occurred
        if (occurred.precision != "day" or occurred.open_end) and not imprecise:
            continue
        span = occurred.lower if occurred.open_end else occurred  # a calendar entry needs an end
        url = urls.event(item)
        vevent = icalendar.Event()
        vevent.add("uid", f"{event.id}@{UID_DOMAIN}")
        vevent.add("dtstamp", recorded(item))
        vevent.add("last-modified", revised(item))
        vevent.add("created", recorded(item))
        vevent.add("dtstart", span.start)
        vevent.add("dtend", span.end + dt.timedelta(days=1))
        vevent.add("summary", headline(item))
        vevent.add("description", plain_text(item, url))
        vevent.add("url", url)
        if isinstance(event, MeetingHeld) and event.location:
            vevent.add("location", event.location)
        vevent.add("categories", [type_of(item), *event.parties])
        # a correction and a retraction each revise the entry
        vevent.add("sequence", int(item.effective.corrected) + int(item.effective.retracted))
        vevent.add("status", "CANCELLED" if item.effective.retracted else "CONFIRMED")
        vevent.add("transp", "TRANSPARENT")
        cal.add_component(vevent)
    return cal.to_ical()


# ----------------------------------------------------------------------------------------------------------
# Knight Lab TimelineJS
