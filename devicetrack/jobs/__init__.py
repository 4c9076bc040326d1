"""The job runner: procrastinate's PostgreSQL queue, our periodic jobs and their periods.

A job is enqueued in the caller's own transaction (queue.enqueue), so a change that rolls
back leaves no job behind; a periodic job claims its period in the transaction that does
its work (periodic.claim_period), so a day's run done twice does its work once. The
worker (runner.py) is composed with every task by devicetrack.worker."""
