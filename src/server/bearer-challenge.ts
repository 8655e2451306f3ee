import type { BearerChallenge } from '../outcomes.ts';

/** The protection space named in every challenge (RFC 6750 §3: `realm`). */
const REALM = 'kanplan';

/**
 * RFC 6750 §3 limits `error_description` and `scope` to printable ASCII without `"` and `\`
 * (https://www.rfc-editor.org/rfc/rfc6750#section-3); anything else is replaced, and a long
 * description is cut (the OperationOutcome carries the whole text).
 */
function quotable(value: string): string {
  const printable = value.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, ' ');
  return printable.length > 300 ? `${printable.slice(0, 297)}...` : printable;
}

/** The `WWW-Authenticate` value of a 401 or 403 caused by the bearer token. */
export function bearerChallengeHeader(challenge: BearerChallenge): string {
  const params: [string, string | undefined][] = [
    ['realm', REALM],
    ['error', challenge.error],
    ['error_description', challenge.description],
    ['scope', challenge.scope],
  ];
  const present = params.filter((param): param is [string, string] => param[1] !== undefined);
  return `Bearer ${present.map(([name, value]) => `${name}="${quotable(value)}"`).join(', ')}`;
}
