import { writeFileSync } from 'node:fs';
import type { Bundle } from '@medplum/fhirtypes';
import { identifierSystem } from '../documents/canonical.ts';
import { defineCommand } from './command.ts';
import { connectToServer, requestServer, serverOptions, type ServerConnection } from './server-connection.ts';

/**
 * `kanplan export --patient ID --type pcsp`: finds the person's most recently updated plan of
 * that type and writes its `$document` to --out or stdout.
 */

async function patientIdOf(connection: ServerConnection, patient: string): Promise<string | undefined> {
  const direct = await requestServer(connection, 'GET', `Patient/${encodeURIComponent(patient)}`);
  if (direct.status === 200) {
    return patient;
  }
  // Not a resource id: try it as the Kansas Medicaid ID.
  const search = await requestServer(connection, 'GET', `Patient?identifier=${encodeURIComponent(`${identifierSystem.medicaidId}|${patient}`)}`);
  const bundle = JSON.parse(search.text || '{}') as Bundle;
  return bundle.entry?.[0]?.resource?.id;
}

export const exportCommand = defineCommand({
  name: 'export',
  summary: "Write a person's PCSP, BSP or ISP document back out",
  description: 'Exit code 1 when the person or the plan is not found.',
  options: {
    patient: { type: 'string', placeholder: 'ID|MEDICAID-ID', required: true, description: 'The Patient, by resource id or Kansas Medicaid ID' },
    type: { type: 'string', placeholder: 'TYPE', choices: ['pcsp', 'bsp', 'isp'], default: 'pcsp', description: 'Which plan document' },
    out: { type: 'string', placeholder: 'FILE', description: 'Write the document here (default: stdout)' },
    ...serverOptions,
  },
  async run({ values }, io) {
    const { patient, type } = values;
    const connection = await connectToServer(values);
    try {
      const patientId = await patientIdOf(connection, patient);
      if (!patientId) {
        io.stderr.write(`No Patient with id or Medicaid ID ${patient}.\n`);
        return 1;
      }
      const search = await requestServer(connection, 'GET', `CarePlan?subject=Patient/${encodeURIComponent(patientId)}&plan-type=${type}&_sort=-_lastUpdated`);
      const plans = (JSON.parse(search.text || '{}') as Bundle).entry ?? [];
      const planId = plans[0]?.resource?.id;
      if (search.status !== 200 || !planId) {
        io.stderr.write(`Patient/${patientId} has no ${type.toUpperCase()} (HTTP ${search.status}).\n`);
        return 1;
      }
      if (plans.length > 1) {
        io.stderr.write(`Patient/${patientId} has ${plans.length} ${type.toUpperCase()} plans; exporting the most recently updated, CarePlan/${planId}.\n`);
      }
      const document = await requestServer(connection, 'GET', `CarePlan/${planId}/$document`);
      if (document.status !== 200) {
        io.stderr.write(`CarePlan/${planId}/$document failed (HTTP ${document.status}): ${document.text}\n`);
        return 1;
      }
      if (values.out) {
        writeFileSync(values.out, document.text);
      } else {
        io.stdout.write(document.text);
      }
      return 0;
    } finally {
      await connection.close();
    }
  },
});
