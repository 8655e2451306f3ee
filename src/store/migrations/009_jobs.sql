-- Background jobs (src/jobs/): Bulk Data exports today, subscription deliveries next. A job is
-- claimed by one process at a time with FOR UPDATE SKIP LOCKED and held by a lease that the
-- process renews (heartbeat); a job whose lease ran out (the process died or restarted) is claimed
-- again and resumes from its last checkpoint (`progress`). Deleting the row cancels the job.
CREATE TABLE job (
  id           text PRIMARY KEY,
  kind         text NOT NULL,
  status       text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  input        text NOT NULL,
  -- Who asked for it (the access token's subject): only they may see its status and output.
  requester    text,
  progress     text,
  result       text,
  error        text,
  worker       text,
  lease_until  timestamptz,
  attempts     integer NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  expires_at   timestamptz
);
CREATE INDEX job_claimable ON job (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX job_expires ON job (expires_at) WHERE expires_at IS NOT NULL;

-- What a job writes for its requester to download (a Bulk Data export's NDJSON files), in
-- parts of a few hundred kilobytes, written in the transaction of the checkpoint that covers them,
-- so a resumed job never writes a part twice. Stored in the database so that any server process
-- on it serves any file; removed with the job.
CREATE TABLE job_output (
  job_id        text NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  file_no       integer NOT NULL,
  part          integer NOT NULL,
  kind          text NOT NULL,
  resource_type text NOT NULL,
  lines         integer NOT NULL,
  content       text NOT NULL,
  PRIMARY KEY (job_id, file_no, part)
);

-- Points in the store's transaction numbering an export read as of, by the instant it reported
-- (the manifest's transactionTime): a later `_since` of exactly that instant continues from the
-- point, so nothing is missed and nothing is exported twice (src/store/transaction-points.ts).
CREATE TABLE transaction_point (
  at timestamptz PRIMARY KEY,
  tx bigint NOT NULL
);
