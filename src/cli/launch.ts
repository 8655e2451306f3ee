import { LaunchError, createLaunch } from '../auth/server/launches.ts';
import { findAccount } from '../auth/server/users.ts';
import { findRegisteredClient } from '../auth/server/clients.ts';
import { UsageError, defineCommand } from './command.ts';
import { withLocalDatabase } from './local-database.ts';

/**
 * `kanplan launch`: an EHR launch context (https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#launch-app-ehr-launch)
 * for trying an app without an EHR: prints the launch id and the URL an EHR would open.
 */
export const launchCommand = defineCommand({
  name: 'launch',
  summary: 'Create an EHR launch (patient, encounter, user) and print its launch id',
  options: {
    patient: { type: 'string', placeholder: 'ID', required: true, description: 'Patient id the launch is bound to' },
    encounter: { type: 'string', placeholder: 'ID', description: 'Encounter id, if any' },
    user: { type: 'string', placeholder: 'LOGIN', required: true, description: 'Login of the user who launches' },
    client: { type: 'string', placeholder: 'CLIENT_ID', description: 'Only this app may use the launch' },
    'app-url': { type: 'string', placeholder: 'URL', description: "The app's launch URL, for the example printed" },
  },
  async run({ values }, io) {
    try {
      const { launch, baseUrl } = await withLocalDatabase(async (db, config) => {
        if (!(await findAccount(db, values.user))) throw new UsageError(`No user ${values.user} exists (kanplan user list).`);
        if (values.client && !(await findRegisteredClient(db, values.client))) throw new UsageError(`No client ${values.client} is registered (kanplan client list).`);
        return { launch: await createLaunch(db, { patient: values.patient, encounter: values.encounter, login: values.user, clientId: values.client }), baseUrl: config.baseUrl };
      });
      io.stdout.write(`${launch.id}\n`);
      const appUrl = values['app-url'] ?? 'https://app.example/launch';
      io.stderr.write(`Launch for Patient/${launch.patient} valid until ${launch.expiresAt.toISOString()}. An EHR would open:\n  ${appUrl}?iss=${encodeURIComponent(baseUrl)}&launch=${launch.id}\n`);
      return 0;
    } catch (err) {
      if (err instanceof LaunchError) throw new UsageError(err.message);
      throw err;
    }
  },
});
