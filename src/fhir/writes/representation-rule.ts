import { checkRepresentation } from '../../validation/json-representation.ts';
import type { WriteRule } from './write-rule.ts';

/**
 * The JSON shape of what is written (https://hl7.org/fhir/R4/json.html), before any other rule
 * reads it: the scope, role and Task rules and the validator all assume that a value has the
 * shape its element declares (a CodeableConcept's coding is an array, `_status` an object). A body
 * that breaks that is 400 with the element's path here, so no rule sees a shape it cannot read.
 * The shape says nothing about who may write what, so judging it before the scopes leaks nothing.
 * The non-blocking findings (ids, empty arrays) are reported by the validation rule.
 */
export const representationRule: WriteRule = {
  name: 'FHIR R4 JSON representation',
  check(write) {
    if (!write.next) {
      return { issues: [] };
    }
    const findings = checkRepresentation(write.next);
    return findings.blocking ? { issues: findings.issues, rejectionStatus: 400 } : { issues: [] };
  },
};
