"""The pure domain of the timeline: the event vocabulary, its codec and references. No I/O here."""
