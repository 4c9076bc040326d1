"""Accounts without an admin at a terminal: password resets by email, invitations (one,
or imported from a sheet; by email or on a printed sheet), and each user's own password
and language. Built on auth/ (users, tokens, throttling) and mail/."""
