import { issueAccessToken, loadOrCreateSigningKey, type TokenRequest } from '../auth/signing-key.ts';
import { loadConfig, type Config } from '../config.ts';
import { defineCommand } from './command.ts';

/** What the caller chooses of a token the CLI signs; issuer and audience are the server's. */
export type LocalTokenClaims = Pick<TokenRequest, 'scope' | 'subject' | 'expiresIn'>;

/** The CLI's own token: full system access, for the command at hand. */
export const cliTokenClaims: LocalTokenClaims = { scope: 'system/*.cruds', subject: 'kanplan-cli', expiresIn: '1h' };

/** A token this server accepts (issuer and audience from its settings), signed by its local key. */
export async function issueLocalAccessToken(config: Config, claims: LocalTokenClaims): Promise<string> {
  const key = await loadOrCreateSigningKey(config.auth.keyFile);
  return issueAccessToken(key, { ...claims, issuer: config.auth.issuer, audience: config.auth.audience });
}

export const tokenCommand = defineCommand({
  name: 'token',
  summary: "Issue an access token signed with this server's local key (DATA_DIR/auth)",
  options: {
    scope: { type: 'string', placeholder: 'SCOPES', default: cliTokenClaims.scope, description: 'SMART scopes, space-separated' },
    subject: { type: 'string', placeholder: 'NAME', default: cliTokenClaims.subject, description: 'Who the token speaks for (sub)' },
    expires: { type: 'string', placeholder: 'SPAN', default: cliTokenClaims.expiresIn, description: 'Lifetime: 1h, 30m, 7d' },
  },
  async run({ values }, io) {
    const config = loadConfig();
    if (config.auth.jwksUrl) {
      io.stderr.write('AUTH_JWKS_URL is set: tokens come from that authorization server, not from kanplan.\n');
      return 2;
    }
    io.stdout.write(`${await issueLocalAccessToken(config, { scope: values.scope, subject: values.subject, expiresIn: values.expires })}\n`);
    return 0;
  },
});
