/**
 * The parts the three Kansas planning documents share, as TypeScript types: the definitions of
 * `src/documents/schemas/common.schema.json` (names, addresses, periods, professionals, consent,
 * codes). The conventions that make the FHIR round trip lossless are in plan-document.ts.
 */

/** CarePlan.status values a document may carry (https://hl7.org/fhir/R4/valueset-request-status.html). */
export type PlanStatus = 'draft' | 'active' | 'on-hold' | 'completed' | 'revoked';

/** Kansas 1915(c) HCBS waivers, abbreviations as KEESM 8200 uses them (domain.md §4a). */
export type WaiverProgram = 'FE' | 'PD' | 'IDD' | 'SED' | 'BI' | 'TA' | 'AU';

export interface HumanName {
  given: string[];
  family: string;
}

export interface PostalAddress {
  line: string[];
  city: string;
  state: string;
  postalCode: string;
  county?: string;
}

export interface Period {
  start: string;
  end?: string;
}

export interface ClosedPeriod {
  start: string;
  end: string;
}

/** The same person as BSP and ISP carry it: enough to find or create the Patient. */
export interface PersonReference {
  medicaidId: string;
  name: HumanName;
  birthDate: string;
}

/** A professional named in a plan (TCM, care coordinator, behavior specialist, plan monitor). */
export interface Professional {
  name: string;
  organization: string;
  phone?: string;
}

/** A provider of a paid service; KMMS is the KMAP provider id (domain.md §5c). */
export interface ServiceProvider {
  name: string;
  kmmsId?: string;
}

export type ParticipantRole =
  | 'person'
  | 'decision-maker'
  | 'family'
  | 'friend'
  | 'targeted-case-manager'
  | 'care-coordinator'
  | 'provider'
  | 'behavior-specialist'
  | 'teacher'
  | 'other';

/** Roles that sign a plan (eLTSS Plan Signatures; codes of ks-signer-role via canonical.ts). */
export type SignerRole = 'person' | 'decision-maker' | 'targeted-case-manager' | 'care-coordinator' | 'provider';

export interface InformedConsent {
  givenBy: 'person' | 'decision-maker';
  date: string;
}

/** Units of service, codes of ks-service-unit; "15-min" is the KMAP 15-minute unit (T1017). */
export type ServiceUnit = '15-min' | 'hour' | 'day' | 'month' | 'visit' | 'item';
