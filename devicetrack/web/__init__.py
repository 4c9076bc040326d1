"""The web interface: server-rendered pages for school staff, donors and province officers.

Pages call the same services as the API (no second copy of the rules); a session cookie
carries the same kind of token the API issues, so role and scope checks are identical."""
