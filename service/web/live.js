// `/live`: every event appended while the page is open, as Server-Sent Events named by the event's type
// (the browser reconnects by itself, resuming with Last-Event-ID).

// Every type of the event vocabulary (tests/test_page.py holds this list to the service's).
export const EVENT_TYPES = [
  "PartyDefined",
  "IssueDefined",
  "MeetingHeld",
  "StatementMade",
  "ProposalTabled",
  "ProposalAmended",
  "ProposalRejected",
  "ProposalWithdrawn",
  "AgreementReached",
  "PledgeMade",
  "DevelopmentReported",
  "EventRetracted",
  "EventCorrected",
];

export function follow(after, onEvent) {
  const source = new EventSource(`/live?after=${after}`);
  const receive = (message) => onEvent(JSON.parse(message.data));
  for (const type of EVENT_TYPES) source.addEventListener(type, receive);
  return source;
}
