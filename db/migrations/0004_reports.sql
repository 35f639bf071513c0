-- Every "Stand van zaken" that was generated (not the dry runs): the next report shows what
-- happened since the period_end of the latest one.
CREATE TABLE reports (
    id           serial      PRIMARY KEY,
    generated_at timestamptz NOT NULL DEFAULT now(),
    period_end   date        NOT NULL
);
CREATE INDEX reports_generated_at_idx ON reports (generated_at);
