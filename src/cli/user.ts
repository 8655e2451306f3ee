import { UserRegistrationError, addUser, listAccounts, removeUser } from '../auth/server/users.ts';
import { UsageError, defineCommand } from './command.ts';
import { withLocalDatabase } from './local-database.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * `kanplan user add|list|remove`: the people who sign in at the built-in authorization server's
 * login page, each acting as a FHIR resource (SMART `fhirUser`).
 */
export const userCommand = defineCommand({
  name: 'user',
  summary: 'Add, list or remove the people who sign in to SMART apps (password stored hashed, argon2id)',
  description: [
    'add: --login NAME --fhir-user PractitionerRole/ID | RelatedPerson/ID | Patient/ID; the password is read from',
    'stdin with --password-stdin, or generated and printed once. list: one user per line. remove: --login NAME.',
  ].join('\n'),
  operands: { placeholder: 'add|list|remove', description: 'What to do', required: true },
  options: {
    login: { type: 'string', placeholder: 'NAME', description: 'Login name (add, remove)' },
    'fhir-user': { type: 'string', placeholder: 'TYPE/ID', description: 'The FHIR resource the user acts as (add)' },
    'password-stdin': { type: 'boolean', description: 'Read the password from standard input (add)' },
  },
  async run({ values, operands }, io) {
    const [action, ...rest] = operands;
    if (rest.length || !['add', 'list', 'remove'].includes(action)) throw new UsageError(`Expected one of add, list, remove; got ${operands.join(' ')}`);
    if (action === 'list') {
      const users = await withLocalDatabase((db) => listAccounts(db));
      for (const user of users) io.stdout.write(`${user.login}\t${user.fhirUser}\n`);
      if (!users.length) io.stderr.write('No users exist.\n');
      return 0;
    }
    if (!values.login) throw new UsageError(`${action} needs --login NAME`);
    const login = values.login;
    if (action === 'remove') {
      const removed = await withLocalDatabase((db) => removeUser(db, login));
      io.stderr.write(removed ? `Removed user ${login}.\n` : `No user ${login} exists.\n`);
      return removed ? 0 : 1;
    }
    if (!values['fhir-user']) throw new UsageError('add needs --fhir-user PractitionerRole/ID|RelatedPerson/ID|Patient/ID');
    const fhirUser = values['fhir-user'];
    const given = values['password-stdin'] ? await readStdin() : undefined;
    try {
      const { password } = await withLocalDatabase((db) => addUser(db, login, fhirUser, given));
      if (given === undefined) io.stdout.write(`password: ${password}\n`);
      io.stderr.write(`Added user ${login} acting as ${fhirUser}.${given === undefined ? ' The password is shown only now.' : ''}\n`);
      return 0;
    } catch (err) {
      if (err instanceof UserRegistrationError) throw new UsageError(err.message);
      throw err;
    }
  },
});
