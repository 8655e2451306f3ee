import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { AccessDecision } from '../../auth/access-policy.ts';
import { badRequest, forbidden } from '../../outcomes.ts';
import type { OperationCall } from '../operations/operation.ts';
import { listParameter } from '../operations/operation-parameters.ts';

/**
 * What `includeAssociatedData` asked for (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters):
 * `latest` (LatestProvenanceResources) or `relevant` (RelevantProvenanceResources, which holds the
 * latest too, so it wins when both are given); `asType` when Provenance is also an exported type of
 * its own. The Provenance go to the export's Provenance file.
 */
export interface AssociatedData {
  readonly which: 'latest' | 'relevant';
  readonly asType: boolean;
}

const VALUES: Readonly<Record<string, AssociatedData['which']>> = {
  LatestProvenanceResources: 'latest',
  RelevantProvenanceResources: 'relevant',
};

/**
 * The checked `includeAssociatedData`, undefined when absent or nothing of it is supported. A
 * value this server does not know (the IG's own or a `_`-prefixed custom one) is a 400, or with
 * `Prefer: handling=lenient` ignored and reported in the kick-off's OperationOutcome and the
 * manifest's error file (`issues`). A caller whose system/ scopes do not read Provenance
 * (`provenanceAccess`) cannot have them: 403, or ignored and reported when lenient.
 */
export function associatedDataOf(
  call: OperationCall,
  lenient: boolean,
  provenanceAccess: AccessDecision,
  provenanceExported: boolean,
  issues: OperationOutcomeIssue[],
): AssociatedData | undefined {
  const values = listParameter(call.parameters, 'includeAssociatedData');
  if (values === undefined) return undefined;
  const unknown = values.filter((value) => VALUES[value] === undefined);
  if (unknown.length) {
    const message = `includeAssociatedData=${unknown.join(',')} is not supported (supported: ${Object.keys(VALUES).join(', ')})`;
    if (!lenient) throw badRequest(`${message}; remove it, or send Prefer: handling=lenient to have it ignored.`, 'includeAssociatedData');
    issues.push({ severity: 'warning', code: 'not-supported', diagnostics: `${message}; ignored (Prefer: handling=lenient).`, expression: ['includeAssociatedData'] });
  }
  const known = values.map((value) => VALUES[value]).filter((which) => which !== undefined);
  if (known.length === 0) return undefined;
  if (provenanceAccess.kind !== 'unconfined') {
    const message = 'includeAssociatedData exports Provenance, and this access token has no system/ scope that reads Provenance';
    if (!lenient) throw forbidden(`${message}: ask for system/Provenance.read (https://hl7.org/fhir/uv/bulkdata/STU2/authorization.html), or send Prefer: handling=lenient to export without them.`);
    issues.push({ severity: 'warning', code: 'forbidden', diagnostics: `${message}; no Provenance exported (Prefer: handling=lenient).`, expression: ['includeAssociatedData'] });
    return undefined;
  }
  return { which: known.includes('relevant') ? 'relevant' : 'latest', asType: provenanceExported };
}
