-- Trajectories and everything they write. Every write is keyed so that a retried or
-- replayed activity never writes twice (the primary keys and unique constraints below).

CREATE TABLE trajectories (
    id                   text PRIMARY KEY,            -- workflow id / first run id
    workflow_id          text NOT NULL,
    run_id               text NOT NULL,
    cooperation_id       text NOT NULL REFERENCES cooperations (id),
    cooperation_name     text NOT NULL,
    kind                 text NOT NULL,
    phase                text NOT NULL,
    calendar_today       date NOT NULL,
    planned_av_date      date NOT NULL,
    effective_date       date NOT NULL,
    needs_effective_date boolean NOT NULL DEFAULT false,
    overdue              boolean NOT NULL DEFAULT false,
    pending_authorities  text[] NOT NULL DEFAULT '{}',
    next_deadline        date,
    finished             boolean NOT NULL DEFAULT false,
    status               jsonb NOT NULL,
    last_seq             integer NOT NULL DEFAULT 0,
    started_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trajectories_workflow_id ON trajectories (workflow_id);

-- The audit trail: append-only, one row per change, in the workflow's own order.
CREATE TABLE events (
    trajectory_id text NOT NULL REFERENCES trajectories (id),
    seq           integer NOT NULL CHECK (seq >= 1),
    kind          text NOT NULL,
    on_date       date NOT NULL,          -- the trajectory's calendar date
    at            timestamptz NOT NULL,   -- workflow time
    summary       text NOT NULL,
    actor         text,
    step_id       text,
    authority_id  text,
    data          jsonb NOT NULL DEFAULT '{}',
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trajectory_id, seq)
);

CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the events table is an append-only audit trail; % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();

-- Decisions as data (LBLOD Besluit): the latest decision of each party in each round.
CREATE TABLE decisions (
    trajectory_id   text NOT NULL REFERENCES trajectories (id),
    step_id         text NOT NULL,
    authority_id    text NOT NULL,
    round_number    integer NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('approve', 'reject', 'postpone', 'abstain')),
    session_date    date NOT NULL,
    reference       text NOT NULL,
    votes_for       integer,
    votes_against   integer,
    votes_abstained integer,
    recorded_by     text NOT NULL,
    note            text,
    event_seq       integer NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trajectory_id, step_id, authority_id, round_number)
);

CREATE TABLE tasks (
    trajectory_id text NOT NULL REFERENCES trajectories (id),
    step_id       text NOT NULL,
    evidence      text NOT NULL,
    completed_by  text NOT NULL,
    note          text,
    completed_on  date NOT NULL,
    event_seq     integer NOT NULL,
    PRIMARY KEY (trajectory_id, step_id)
);

-- Notifications wait here for a sender; the key makes each one exactly-once.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    key           text NOT NULL UNIQUE,
    trajectory_id text NOT NULL REFERENCES trajectories (id),
    recipients    text[] NOT NULL,
    subject       text NOT NULL,
    body          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

CREATE TABLE documents (
    trajectory_id text NOT NULL REFERENCES trajectories (id),
    name          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('draft', 'final', 'withdrawn')),
    step_id       text NOT NULL,
    created_on    date NOT NULL,
    withdrawn_on  date,
    PRIMARY KEY (trajectory_id, name)
);

-- What moved on the effective date. Staff rows hold personal data (GDPR): the application
-- database is their system of record; they never reach logs, ids or search attributes.
CREATE TABLE transfers (
    trajectory_id  text NOT NULL REFERENCES trajectories (id),
    item_kind      text NOT NULL CHECK (item_kind IN ('staff', 'asset', 'contract', 'subsidy', 'liability')),
    item_no        integer NOT NULL,
    description    text NOT NULL,
    statute        text,
    route          text,
    value_eur      numeric,
    transferred_on date NOT NULL,
    PRIMARY KEY (trajectory_id, item_kind, item_no)
);

-- Ledger of performed automatic steps: the idempotency key of every action.
CREATE TABLE actions (
    trajectory_id text NOT NULL REFERENCES trajectories (id),
    step_id       text NOT NULL,
    action        text NOT NULL,
    summary       text NOT NULL,
    performed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trajectory_id, step_id, action)
);
