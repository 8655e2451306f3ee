import type { WriteRule } from './write-rule.ts';

/**
 * Provenance and AuditEvent are records of what happened: they may be created (a system may send
 * its own), never changed or deleted through the API, or the trail they keep would mean nothing
 * (https://hl7.org/fhir/R4/provenance.html#notes: a Provenance describes a version at a point in
 * time). Old AuditEvents leave by AUDIT_RETENTION_DAYS only.
 */
export const appendOnlyRule: WriteRule = {
  name: 'append-only records',
  check(write) {
    if ((write.resourceType !== 'Provenance' && write.resourceType !== 'AuditEvent') || write.interaction === 'create' || !write.previous) {
      return { issues: [] };
    }
    return {
      issues: [
        {
          severity: 'error',
          code: 'forbidden',
          diagnostics: `${write.resourceType} is append-only: ${write.resourceType}/${write.id} cannot be ${write.interaction === 'delete' ? 'deleted' : 'changed'}; record a new ${write.resourceType} instead.`,
        },
      ],
      rejectionStatus: 405,
    };
  },
};
