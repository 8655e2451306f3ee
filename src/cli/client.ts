import fs from 'node:fs';
import { ClientRegistrationError, listRegisteredClients, registerClient, removeClient, type ClientType } from '../auth/server/clients.ts';
import { UsageError, defineCommand } from './command.ts';
import { withLocalDatabase } from './local-database.ts';

/**
 * `kanplan client add|list|remove`: the SMART clients of the embedded authorization server
 * (https://hl7.org/fhir/smart-app-launch/STU2.2/client-authentication.html).
 */
export const clientCommand = defineCommand({
  name: 'client',
  summary: 'Register, list or remove SMART apps and backend clients of the built-in authorization server',
  description: [
    'add: --type public | confidential-symmetric (prints the generated secret once) |',
    'confidential-asymmetric (--jwks-file FILE or --jwks-url URL; Backend Services); --redirect-uri for apps that',
    'sign users in (repeatable); --scope the scopes it may be granted (default by type); --name the name users see.',
    'list: one client per line. remove: --id CLIENT_ID.',
  ].join('\n'),
  operands: { placeholder: 'add|list|remove', description: 'What to do', required: true },
  options: {
    type: { type: 'string', placeholder: 'TYPE', choices: ['public', 'confidential-symmetric', 'confidential-asymmetric'], description: 'Client type (add)' },
    name: { type: 'string', placeholder: 'NAME', description: 'Name shown on the consent page (add)' },
    id: { type: 'string', placeholder: 'CLIENT_ID', description: 'client_id (add: chosen instead of generated; remove)' },
    'redirect-uri': { type: 'string', placeholder: 'URL', multiple: true, description: 'Registered redirect URI (add; repeatable)' },
    scope: { type: 'string', placeholder: 'SCOPES', description: 'Allowed scopes, space-separated (add)' },
    'jwks-file': { type: 'string', placeholder: 'FILE', description: "JSON Web Key Set with the client's public keys (add)" },
    'jwks-url': { type: 'string', placeholder: 'URL', description: "URL of the client's JSON Web Key Set (add)" },
  },
  async run({ values, operands }, io) {
    const [action, ...rest] = operands;
    if (rest.length || !['add', 'list', 'remove'].includes(action)) throw new UsageError(`Expected one of add, list, remove; got ${operands.join(' ')}`);
    if (action === 'list') {
      const clients = await withLocalDatabase((db) => listRegisteredClients(db));
      for (const client of clients) {
        io.stdout.write(`${client.clientId}\t${client.type}\t${client.name}\t${client.redirectUris.join(',') || '-'}\t${client.allowedScopes.join(' ')}\n`);
      }
      if (!clients.length) io.stderr.write('No clients are registered.\n');
      return 0;
    }
    if (action === 'remove') {
      if (!values.id) throw new UsageError('remove needs --id CLIENT_ID');
      const removed = await withLocalDatabase((db) => removeClient(db, values.id as string));
      io.stderr.write(removed ? `Removed client ${values.id}.\n` : `No client ${values.id} is registered.\n`);
      return removed ? 0 : 1;
    }
    if (!values.type) throw new UsageError('add needs --type public|confidential-symmetric|confidential-asymmetric');
    if (!values.name) throw new UsageError('add needs --name NAME');
    let jwks: { keys: object[] } | undefined;
    if (values['jwks-file']) {
      try {
        jwks = JSON.parse(fs.readFileSync(values['jwks-file'], 'utf8')) as { keys: object[] };
      } catch (err) {
        throw new UsageError(`--jwks-file ${values['jwks-file']}: ${(err as Error).message}`);
      }
      if (!Array.isArray(jwks?.keys)) throw new UsageError(`--jwks-file ${values['jwks-file']} is not a JSON Web Key Set ({"keys": [...]}).`);
    }
    try {
      const { client, secret } = await withLocalDatabase((db) =>
        registerClient(db, {
          type: values.type as ClientType,
          name: values.name as string,
          clientId: values.id,
          redirectUris: values['redirect-uri'],
          allowedScopes: values.scope?.split(/\s+/).filter(Boolean),
          jwks,
          jwksUri: values['jwks-url'],
        }),
      );
      io.stdout.write(`client_id: ${client.clientId}\n`);
      if (secret) io.stdout.write(`client_secret: ${secret}\n`);
      io.stderr.write(`Registered ${client.type} client "${client.name}" allowed ${client.allowedScopes.join(' ')}.${secret ? ' The secret is shown only now; it is stored as given to clients, keep it safe.' : ''}\n`);
      return 0;
    } catch (err) {
      if (err instanceof ClientRegistrationError) throw new UsageError(err.message);
      throw err;
    }
  },
});
