"""The timeline as an Atom feed (RFC 4287), with the event's own date in an extension (``tl:occurred``)."""

from __future__ import annotations

import datetime as dt

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from service.api.feeds.text import (
    ATOM,
    FEED_TITLE,
    NAMESPACE,
    PREFIX,
    UID_DOMAIN,
    Urls,
    headline,
    html_text,
    issues_of,
    recorded,
    revised,
    type_of,
)
from service.query.timeline import Item, TimelinePage


class _TimelineFeedExtension(BaseExtension):
    def extend_ns(self) -> dict[str, str]:
        return {PREFIX: NAMESPACE}


class _TimelineEntryExtension(BaseEntryExtension):
    """``tl:occurred``, ``tl:reported``, ``tl:position``, ``tl:stream``, ``tl:type`` and revision flags."""

    item: Item | None = None
    url: str = ""

    def extend_atom(self, entry):  # feedgen's interface
        if self.item is None:
            return entry
        event = self.item.effective.event
        # feedgen 1.0 drops rel and type of entry links, so the links are written here (in no namespace,
        # as feedgen writes every Atom element: the feed declares Atom as the default namespace)
        xml_elem("link", entry, href=self.url, rel="alternate")  # no type: readers then open it
        for source in event.sources:
            if source.url:
                xml_elem("link", entry, href=source.url, rel="related", title=source.publisher)
        for name, date in (("occurred", event.occurred), ("reported", event.reported or event.occurred)):
            element = xml_elem(
                f"{{{NAMESPACE}}}{name}", entry, precision=date.precision, start=date.start.isoformat()
            )
            if date.end is not None:  # an interval with an open end has none
                element.attrib["end"] = date.end.isoformat()
            if date.is_interval:
                element.attrib["interval"] = "true"
            if date.approximate:
                element.attrib["approximate"] = "true"
            if date.uncertain:
                element.attrib["uncertain"] = "true"
            element.text = date.text
        for name, value in (
            ("position", str(self.item.effective.position)),
            ("stream", self.item.stream),
            ("version", str(self.item.version)),
            ("type", type_of(self.item)),
        ):
            xml_elem(f"{{{NAMESPACE}}}{name}", entry).text = value
        if self.item.effective.retracted:
            xml_elem(f"{{{NAMESPACE}}}retracted", entry).text = "true"
        if self.item.effective.corrected:
            xml_elem(f"{{{NAMESPACE}}}corrected", entry).text = "true"
        return entry


def atom_feed(page: TimelinePage, urls: Urls) -> bytes:
    feed = FeedGenerator()
    feed.register_extension(PREFIX, _TimelineFeedExtension, _TimelineEntryExtension, atom=True, rss=False)
    feed.id(urls.first)
    feed.title(FEED_TITLE)
    feed.subtitle(
        "Events in the order they happened. Published/updated dates are when an event was recorded; "
        f"its own date is in the text and in <{PREFIX}:occurred> ({NAMESPACE})."
    )
    feed.author({"name": FEED_TITLE, "uri": urls.home})
    feed.link(href=urls.self_, rel="self", type=ATOM)
    feed.link(href=urls.first, rel="first", type=ATOM)
    if urls.next:
        feed.link(href=urls.next, rel="next", type=ATOM)
    feed.link(href=urls.home, rel="alternate", type="text/html")
    feed.language("en")
    feed.updated(max((revised(i) for i in page.items), default=dt.datetime.now(dt.UTC)))
    for item in page.items:
        event = item.effective.event
        url = urls.event(item)
        entry = feed.add_entry(order="append")
        entry.id(f"urn:uuid:{event.id}")
        entry.title(headline(item))
        entry.published(recorded(item))
        entry.updated(revised(item))
        entry.content(html_text(item, url), type="html")
        for scheme, terms in (
            ("type", [type_of(item)]),
            ("party", event.parties),
            ("issue", issues_of(item)),
        ):
            for term in terms:
                entry.category(term=term, scheme=f"urn:{UID_DOMAIN}:{scheme}", label=f"{scheme}: {term}")
        extension = getattr(entry, PREFIX)
        extension.item, extension.url = item, url
    return feed.atom_str(pretty=True)


# ----------------------------------------------------------------------------------------------------------
# JSON Feed 1.1
