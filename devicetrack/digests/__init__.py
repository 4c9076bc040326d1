"""Digests by email: what a school, a province and a donor should act on, mailed on a
schedule in Vietnam's time (SIMs whose data plans end soon, loans past their due date,
audits due, a donor's impact), each in the reader's language with a link to the page that
acts on it. Everyone whose role receives a digest gets it unless they turned it off on
the account page (or with PATCH /api/v1/me/digests)."""
