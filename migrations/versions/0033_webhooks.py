"""webhooks: subscriptions, an outbox written with each change, deliveries and their attempts

Signed webhooks (issue #12 item 6, README "Webhooks"). Four tables:

- `webhook_subscriptions`: a URL, the events it wants, its signing secret and whose it is
  (no province and no donor: an admin's, every event; a province: an officer's, that
  province's; a donor: a donor's, its own devices and donations). `failing_since` counts
  the days of failures that disable it.
- `webhook_messages`: the outbox. One row per event sent, written in the transaction that
  made the change, so a change that rolls back leaves none. A row carries its event type,
  the province and donor it concerns (who may receive it) and its `data`.
- `webhook_deliveries`: one message to one subscription, its state and its next try;
  `webhook_attempts`: every try (status code, duration, error).

Device events become messages in a statement-level trigger on `device_events` (its
transition table): one INSERT … SELECT per statement, so an intake of 100,000 devices makes
one message per 500 events of one type, province and donor instead of 100,000, and none
at all when no subscription wants that event (the trigger's first statement looks). The
message only names its events (`event_ids`); the worker builds its JSON before the first
try, so the request pays for grouping ids, not for writing 100,000 JSON objects. The
other events (donation.created, audit.closed, sim.expiring) are written by the services
through `webhooks_emit`. Who receives a message is decided once, by `webhooks_match`. Each
transaction that writes deliveries defers one `webhooks.dispatch` job through
procrastinate's own function (as jobs/queue.py does), so the worker, woken by the queue's
NOTIFY at commit, sends them within a second or two.

New tables only: nothing existing is rewritten; the trigger is added under a short lock.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# devicetrack/webhooks/values.py WebhookEvent and DeliveryStatus on 2026-12-01.
EVENTS = (
    "'device.registered', 'device.allocated', 'device.received', 'device.assigned', "
    "'device.returned', 'device.status_changed', 'sim.expiring', 'audit.closed', "
    "'donation.created'"
)
STATUSES = "'pending', 'delivered', 'failed'"
# devicetrack/webhooks/limits.py URL.
URL_CHARS = 2000
# Devices in one message of a device event (devicetrack/webhooks/limits.py DEVICES_PER_MESSAGE).
PER_MESSAGE = 500

TABLES = f"""
CREATE TABLE webhook_subscriptions (
    id serial CONSTRAINT pk_webhook_subscriptions PRIMARY KEY,
    url text NOT NULL,
    events text[] NOT NULL,
    secret text NOT NULL,
    province_code varchar(2) CONSTRAINT fk_webhook_subscriptions_province_code_provinces
        REFERENCES provinces (code),
    donor_id integer CONSTRAINT fk_webhook_subscriptions_donor_id_donors
        REFERENCES donors (id) ON DELETE CASCADE,
    created_by integer CONSTRAINT fk_webhook_subscriptions_created_by_users
        REFERENCES users (id) ON DELETE SET NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    failing_since timestamptz,
    disabled_at timestamptz,
    CONSTRAINT ck_webhook_subscriptions_url_length CHECK (char_length(url) <= {URL_CHARS}),
    CONSTRAINT ck_webhook_subscriptions_events_known CHECK (events <@ ARRAY[{EVENTS}]),
    CONSTRAINT ck_webhook_subscriptions_some_event CHECK (cardinality(events) > 0),
    CONSTRAINT ck_webhook_subscriptions_one_scope
        CHECK (province_code IS NULL OR donor_id IS NULL)
);
CREATE INDEX ix_webhook_subscriptions_province_code ON webhook_subscriptions (province_code);
CREATE INDEX ix_webhook_subscriptions_donor_id ON webhook_subscriptions (donor_id);

-- No foreign keys: an outbox row is written on the hot path of every change.
CREATE TABLE webhook_messages (
    id bigserial CONSTRAINT pk_webhook_messages PRIMARY KEY,
    event_type text NOT NULL,
    province_code varchar(2),
    donor_id integer,
    -- A device event's message names its device_events; its data is built before the
    -- first try. The other events carry their data from the start.
    event_ids bigint[],
    data jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_webhook_messages_event_type_known CHECK (event_type IN ({EVENTS})),
    CONSTRAINT ck_webhook_messages_has_content CHECK (data IS NOT NULL OR event_ids IS NOT NULL)
);

CREATE TABLE webhook_deliveries (
    id bigserial CONSTRAINT pk_webhook_deliveries PRIMARY KEY,
    message_id bigint NOT NULL CONSTRAINT fk_webhook_deliveries_message_id_webhook_messages
        REFERENCES webhook_messages (id) ON DELETE CASCADE,
    subscription_id integer NOT NULL
        CONSTRAINT fk_webhook_deliveries_subscription_id_webhook_subscriptions
        REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    -- Set by the first failed try: no retry after it (a redeliver starts a new window).
    retry_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    last_status_code integer,
    last_error text,
    CONSTRAINT ck_webhook_deliveries_status_known CHECK (status IN ({STATUSES}))
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX ix_webhook_deliveries_subscription_id ON webhook_deliveries (subscription_id, id);
CREATE INDEX ix_webhook_deliveries_message_id ON webhook_deliveries (message_id);

CREATE TABLE webhook_attempts (
    id bigserial CONSTRAINT pk_webhook_attempts PRIMARY KEY,
    delivery_id bigint NOT NULL CONSTRAINT fk_webhook_attempts_delivery_id_webhook_deliveries
        REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT now(),
    status_code integer,
    duration_ms integer NOT NULL,
    error text
);
CREATE INDEX ix_webhook_attempts_delivery_id ON webhook_attempts (delivery_id, id);
"""

FUNCTIONS = f"""
-- Whether subscription s receives a message of this type about this province and donor.
-- The one place the rule is written (SQL, so both the trigger and webhooks_emit use it).
CREATE FUNCTION webhooks_match(s webhook_subscriptions, event text, province text, donor integer)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT s.active AND event = ANY (s.events)
       AND ((s.province_code IS NULL AND s.donor_id IS NULL)
            OR s.province_code = province OR s.donor_id = donor)
$$;

-- Once per transaction: a webhooks.dispatch job, deferred by procrastinate's own function
-- (the one jobs/queue.py calls), so it commits or rolls back with the change.
CREATE FUNCTION webhooks_wake() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('devicetrack.webhooks_woken', true) = 'yes' THEN
        RETURN;
    END IF;
    PERFORM set_config('devicetrack.webhooks_woken', 'yes', true);
    PERFORM procrastinate_defer_jobs_v1(ARRAY[ROW(
        'default', 'webhooks.dispatch', 0, NULL, NULL, '{{}}'::jsonb, NULL
    )]::procrastinate_job_to_defer_v1[]);
END $$;

-- Deliveries of the given messages to every subscription that matches them.
CREATE FUNCTION webhooks_fan_out(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (message_id, subscription_id)
    SELECT m.id, s.id
      FROM webhook_messages m
      JOIN webhook_subscriptions s ON webhooks_match(s, m.event_type, m.province_code, m.donor_id)
     WHERE m.id = ANY (ids);
    IF FOUND THEN
        PERFORM webhooks_wake();
    END IF;
END $$;

-- One message from a service (donation.created, audit.closed, sim.expiring): written only
-- when some subscription receives it. Returns its id, or NULL.
CREATE FUNCTION webhooks_emit(event text, province text, donor integer, payload jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    made bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions s
                    WHERE webhooks_match(s, event, province, donor)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_messages (event_type, province_code, donor_id, data)
    VALUES (event, province, donor, payload) RETURNING id INTO made;
    PERFORM webhooks_fan_out(ARRAY[made]);
    RETURN made;
END $$;

-- Device events → messages, set-based: one per event type, province, donor and block of
-- {PER_MESSAGE} event ids, each naming its events. The body is built from those events by
-- the worker before the first try (webhooks/repository.py BUILD), off the request's path.
-- The status-changing actions without an event type of their own are
-- device.status_changed; upkeep that leaves the status (wiped, edited, audited, a SIM
-- installed) sends nothing.
CREATE FUNCTION webhooks_from_device_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    made bigint[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE active) THEN
        RETURN NULL;
    END IF;
    WITH typed AS (
        SELECT e.id, e.device_id,
               CASE WHEN e.action IN ('registered', 'allocated', 'received', 'assigned',
                                      'returned') THEN 'device.' || e.action
                    WHEN e.from_status IS DISTINCT FROM e.to_status THEN 'device.status_changed'
               END AS event_type
          FROM added e
    ), grouped AS (
        SELECT t.event_type, d.province_code, d.donor_id, array_agg(t.id ORDER BY t.id) AS ids
          FROM typed t
          JOIN devices d ON d.id = t.device_id
         WHERE t.event_type IN (SELECT unnest(events) FROM webhook_subscriptions WHERE active)
         GROUP BY t.event_type, d.province_code, d.donor_id, t.id / {PER_MESSAGE}
    ), inserted AS (
        INSERT INTO webhook_messages (event_type, province_code, donor_id, event_ids)
        SELECT g.event_type, g.province_code, g.donor_id, g.ids
          FROM grouped g
         WHERE EXISTS (SELECT 1 FROM webhook_subscriptions s
                        WHERE webhooks_match(s, g.event_type, g.province_code, g.donor_id))
        RETURNING id
    )
    SELECT array_agg(id) INTO made FROM inserted;
    IF made IS NOT NULL THEN
        PERFORM webhooks_fan_out(made);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER webhooks_device_events AFTER INSERT ON device_events
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_from_device_events();
"""


def _statements(script: str) -> list[str]:
    """One statement at a time (asyncpg prepares each): a function's body ends with "$$;"."""
    parts: list[str] = []
    for chunk in script.split("$$;\n"):
        if "$$" in chunk:
            parts.append(chunk + "$$")
        else:
            parts += chunk.split(";\n")
    return [part.strip() for part in parts if part.strip()]


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    for statement in _statements(TABLES) + _statements(FUNCTIONS):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER webhooks_device_events ON device_events")
    op.execute(
        "DROP FUNCTION webhooks_from_device_events(), webhooks_emit(text, text, integer, jsonb),"
        " webhooks_fan_out(bigint[]), webhooks_wake(),"
        " webhooks_match(webhook_subscriptions, text, text, integer)"
    )
    op.execute(
        "DROP TABLE webhook_attempts, webhook_deliveries, webhook_messages, webhook_subscriptions"
    )
