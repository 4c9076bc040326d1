"""Email: composed in a request's transaction, rendered and sent by a job in the reader's
language, every message recorded (mail_messages). Without DEVICETRACK_SMTP_URL the job
puts it in the outbox (the same table, read at /admin/outbox) and the log instead."""
