import { KANSAS_CANONICAL_BASE } from '../conformance/kansas-package.ts';

/**
 * Every canonical URL, identifier system and code the document mappers write, in one place.
 * Source of truth: `profiles/CATALOG.md` (issue 5). Entries marked REQUESTED were asked for in
 * `profiles/REQUESTS.md` (2026-11-24) and are used under the URL requested there. The canonical
 * base itself is the Kansas package's (src/conformance/kansas-package.ts).
 */

const sd = `${KANSAS_CANONICAL_BASE}/StructureDefinition/`;
const cs = `${KANSAS_CANONICAL_BASE}/CodeSystem/`;
const sid = `${KANSAS_CANONICAL_BASE}/sid/`;

export const profileUrl = {
  patient: `${sd}ks-patient`,
  practitionerRole: `${sd}ks-practitionerrole`,
  pcspCarePlan: `${sd}ks-pcsp-careplan`,
  bspCarePlan: `${sd}ks-bsp-careplan`,
  ispCarePlan: `${sd}ks-isp-careplan`,
  backupPlanCarePlan: `${sd}ks-backup-plan-careplan`,
  goal: `${sd}ks-goal`,
  plannedService: `${sd}ks-planned-service`,
  authorizedService: `${sd}ks-authorized-service`,
  workflowTask: `${sd}ks-workflow-task`,
  functionalAssessment: `${sd}ks-functional-assessment`,
  riskAssessment: `${sd}ks-risk-assessment`,
  planSignatures: `${sd}ks-plan-signatures`,
  informedConsent: `${sd}ks-informed-consent`,
  relatedPerson: `${sd}ks-relatedperson`,
} as const;

/**
 * The rule each written consent is given under (Consent.policy.uri; R4 ppc-1 needs a policy or
 * policyRule): the PCSP and rights modifications under 42 CFR 441.301(c), restrictive
 * interventions and PRN medication under K.A.R. 30-63-23(b)(1)(C)-(D).
 */
export const consentPolicy = {
  personCenteredPlan: 'https://www.ecfr.gov/current/title-42/chapter-IV/subchapter-C/part-441/subpart-G/section-441.301',
  restrictiveIntervention:
    'https://casetext.com/regulation/kansas-administrative-code/agency-30-kansas-department-for-children-and-families/article-63-developmental-disabilities-licensing-providers-of-community-services/section-30-63-23-medications-restrictive-interventions-behavioral-management-committee',
} as const;

export const extensionUrl = {
  waiverProgram: `${sd}ks-waiver-program`,
  mco: `${sd}ks-mco`,
  reviewDueDate: `${sd}ks-review-due-date`,
  selfDirection: `${sd}ks-self-direction`,
  activityCategory: `${sd}ks-activity-category`,
  rightsModification: `${sd}ks-rights-modification`,
  restrictiveIntervention: `${sd}ks-restrictive-intervention`,
  /** REQUESTED (profiles/REQUESTS.md item 10). */
  planDistribution: `${sd}ks-plan-distribution`,
  /** eLTSS Self-Directed Service Indicator (standards.md §1.3): text "self" when self-directed. */
  eltssDirectedBy: 'http://hl7.org/fhir/us/eltss/StructureDefinition/eltss-directedBy',
  /** Core extension linking a ServiceRequest or Task to a Goal (eLTSS Step or Action). */
  pertainsToGoal: 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal',
} as const;

export const identifierSystem = {
  medicaidId: `${sid}ks-medicaid-id`,
  kmmsId: `${sid}ks-kmms-id`,
  authorizationNumber: `${sid}ks-authorization-number`,
  /** REQUESTED (item 2): CarePlan.identifier = the document's planId. */
  planId: `${sid}ks-plan-id`,
  /** REQUESTED (item 2): `<planId>/<kind>/<itemId>` on every resource made from a plan item. */
  planItem: `${sid}ks-plan-item`,
} as const;

export const codeSystem = {
  planType: `${cs}ks-plan-type`,
  waiverProgram: `${cs}ks-waiver-program`,
  mco: `${cs}ks-mco`,
  practitionerRole: `${cs}ks-practitioner-role`,
  taskType: `${cs}ks-task-type`,
  tcmActivityCategory: `${cs}ks-tcm-activity-category`,
  careCoordinationCategory: `${cs}ks-care-coordination-category`,
  hcbsService: `${cs}ks-hcbs-service`,
  serviceUnit: `${cs}ks-service-unit`,
  identifierType: `${cs}ks-identifier-type`,
  signerRole: `${cs}ks-signer-role`,
  assessmentInstrument: `${cs}ks-assessment-instrument`,
  functionalAssessmentResult: `${cs}ks-functional-assessment-result`,
  decisionMakerRole: `${cs}ks-decision-maker-role`,
  /** REQUESTED (item 3). */
  planElement: `${cs}ks-plan-element`,
  /** REQUESTED (item 4). */
  needDomain: `${cs}ks-need-domain`,
  /** REQUESTED (item 5). */
  fundingSource: `${cs}ks-funding-source`,
  /** REQUESTED (item 6). */
  participantRole: `${cs}ks-participant-role`,
} as const;

/** External code systems (terminology.hl7.org / CMS / LOINC / ICD-10-CM / UCUM / ISO-ASTM). */
export const externalSystem = {
  hcpcs: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  loinc: 'http://loinc.org',
  ucum: 'http://unitsofmeasure.org',
  usCoreCarePlanCategory: 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category',
  usCoreConditionCategory: 'http://hl7.org/fhir/us/core/CodeSystem/condition-category',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  eltssConditionCategory: 'http://hl7.org/fhir/us/eltss/CodeSystem/eltss-condition-category-code',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  consentScope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  roleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
  contactRole: 'http://terminology.hl7.org/CodeSystem/v2-0131',
  signatureType: 'urn:iso-astm:E1762-95:2013',
} as const;

/** LOINC 59284-0 "Patient Consent" as Consent.category (the R4 example binding). */
export const consentCategoryLoinc = '59284-0';
/** ISO-ASTM E1762 "Consent Signature". */
export const consentSignatureCode = '1.2.840.10065.1.12.1.7';

/** UCUM codes for the denominator of a service rate ("per week"), eLTSS Quantity Interval. */
export const intervalUcum = { day: 'd', week: 'wk', month: 'mo', year: 'a' } as const;

/**
 * Document role → ks-signer-role code (CATALOG.md). The document names roles in plain terms;
 * the catalog's `guardian` covers "guardian / legal representative".
 */
export const signerRoleCode = {
  person: 'person',
  'decision-maker': 'guardian',
  'targeted-case-manager': 'targeted-case-manager',
  'care-coordinator': 'mco-care-coordinator',
  provider: 'service-provider',
} as const;

/**
 * Authorized decision maker → HL7 v3 RoleCode (kept for the exact relationship) plus the
 * ks-decision-maker-role code the KS Patient profile requires on Patient.contact.relationship.
 */
export const decisionMakerCodes = {
  guardian: { roleCode: 'GUARD', ksCode: 'legal-guardian' },
  parent: { roleCode: 'PRN', ksCode: 'authorized-decision-maker' },
  'durable-power-of-attorney': { roleCode: 'DPOWATT', ksCode: 'authorized-decision-maker' },
  'healthcare-power-of-attorney': { roleCode: 'HPOWATT', ksCode: 'authorized-decision-maker' },
} as const;

/** Display names of ks-mco codes (CATALOG.md), used as the requester of authorized services. */
export const mcoDisplay = {
  sunflower: 'Sunflower Health Plan',
  'uhc-community-plan': 'UnitedHealthcare Community Plan of Kansas',
  'healthy-blue': 'Healthy Blue Kansas',
  'aetna-better-health-ks': 'Aetna Better Health of Kansas',
  'amerigroup-ks': 'Amerigroup Kansas',
} as const;

/** Display names of ks-waiver-program codes (CATALOG.md; KEESM 8200). */
export const waiverDisplay = {
  FE: 'Frail Elderly (FE)',
  PD: 'Physical Disability (PD)',
  IDD: 'Intellectual/Developmental Disability (I/DD)',
  SED: 'Serious Emotional Disturbance (SED)',
  BI: 'Brain Injury (BI)',
  TA: 'Technology Assisted (TA)',
  AU: 'Autism (AU)',
} as const;

/** Display names of ks-assessment-instrument codes. */
export const instrumentDisplay = {
  basis: 'BASIS',
  mfei: 'MFEI',
  'mfei-idd': 'MFEI-I/DD',
  interrai: 'interRAI',
  'vineland-ii': 'Vineland-II',
  other: 'Other',
} as const;

/** HCPCS codes whose ks-hcbs-service code a Kansas source states (CATALOG.md ks-hcbs-service). */
export const hcbsServiceByHcpcs: Readonly<Record<string, string>> = { T1017: 'targeted-case-management' };

/** The resource kinds a plan item can become; the middle part of a ks-plan-item identifier. */
export type PlanItemKind =
  | 'goal'
  | 'step'
  | 'service'
  | 'natural-support'
  | 'need'
  | 'risk'
  | 'consent'
  | 'signatures'
  | 'care-team'
  | 'backup-plan'
  | 'observation'
  | 'assessment'
  | 'iep-participation'
  | 'rights-modification-consent'
  | 'target-behavior'
  | 'positive-support'
  | 'restrictive-intervention-consent'
  | 'prn-medication'
  | 'prn-consent'
  | 'authorized-service'
  | 'non-medicaid-resource'
  | 'condition'
  | 'medication'
  | 'transition'
  | 'high-risk-flag';

export function planItemValue(planId: string, kind: PlanItemKind, itemId: string): string {
  return `${planId}/${kind}/${itemId}`;
}

/**
 * Goal.lifecycleStatus and Task.status that follow the plan's status, so that the goals and steps
 * of a draft, completed or revoked plan don't read as active work.
 */
export const goalLifecycleForPlan = {
  draft: 'proposed',
  active: 'active',
  'on-hold': 'on-hold',
  completed: 'completed',
  revoked: 'cancelled',
} as const;

/**
 * A PRN medication order lives and ends with its BSP: no PRN use without the plan's consent
 * (K.A.R. 30-63-23(b)(1)(D)), so a draft plan does not make an active order, and a revoked one
 * does not leave it active (https://hl7.org/fhir/R4/valueset-medicationrequest-status.html).
 */
export const medicationRequestStatusForPlan = {
  draft: 'draft',
  active: 'active',
  'on-hold': 'on-hold',
  completed: 'completed',
  revoked: 'cancelled',
} as const;

export const stepStatusForPlan = {
  draft: 'draft',
  active: 'requested',
  'on-hold': 'on-hold',
  completed: 'completed',
  revoked: 'cancelled',
} as const;
