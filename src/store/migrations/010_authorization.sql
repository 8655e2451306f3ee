-- The embedded SMART authorization server (src/auth/server/): everything it must share between
-- server processes lives here, never only in memory.

-- oidc-provider's records (sessions, interactions, grants, codes, refresh tokens, replay markers…),
-- one row per (kind, id); expired rows are never returned and are deleted as new ones arrive.
CREATE TABLE oauth_record (
  kind text NOT NULL,
  id text NOT NULL,
  payload jsonb NOT NULL,
  grant_id text,
  uid text,
  user_code text,
  expires_at timestamptz,
  PRIMARY KEY (kind, id)
);
CREATE INDEX oauth_record_grant ON oauth_record (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oauth_record_uid ON oauth_record (uid) WHERE uid IS NOT NULL;
CREATE INDEX oauth_record_user_code ON oauth_record (user_code) WHERE user_code IS NOT NULL;
CREATE INDEX oauth_record_expires ON oauth_record (expires_at) WHERE expires_at IS NOT NULL;

-- Registered SMART clients (kanplan client add): their OAuth client metadata.
CREATE TABLE oauth_client (
  client_id text PRIMARY KEY,
  metadata jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- People who sign in at the login page (kanplan user add), each acting as one FHIR resource.
CREATE TABLE auth_user (
  login text PRIMARY KEY,
  fhir_user text NOT NULL,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- EHR launch contexts (kanplan launch, POST /auth/launch): a launch id bound to a patient, an
-- optional encounter, the user who launches and optionally the client.
CREATE TABLE smart_launch (
  id text PRIMARY KEY,
  patient text NOT NULL,
  encounter text,
  login text,
  client_id text,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
