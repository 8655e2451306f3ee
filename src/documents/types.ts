/**
 * The three Kansas planning documents as TypeScript types. The JSON Schemas in
 * `src/documents/schemas/*.schema.json` are the published contract; these types mirror them
 * (a test checks every example document against both).
 *
 * Conventions that make the FHIR round trip lossless (document → Bundle → stored → document is
 * deep-equal):
 * - optional lists have `minItems: 1`: an absent list and an empty list cannot both occur;
 * - optional strings have `minLength: 1`;
 * - every repeating item that becomes its own FHIR resource has a stable `id` (the business
 *   identifier), so re-importing a changed document updates the same resources.
 */

export type DocumentType = 'pcsp' | 'bsp' | 'isp';

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

/** The person the plan is for (eLTSS Beneficiary Demographics). */
export interface PersonDemographics {
  medicaidId: string;
  name: HumanName;
  birthDate: string;
  gender: 'female' | 'male' | 'other' | 'unknown';
  phone?: string;
  address?: PostalAddress;
  /** BCP-47 language tag, e.g. "en" or "es". */
  preferredLanguage?: string;
}

/** The same person as BSP and ISP carry it: enough to find or create the Patient. */
export interface PersonReference {
  medicaidId: string;
  name: HumanName;
  birthDate: string;
}

/** Relationship of an authorized decision maker, mapped to HL7 v3 RoleCode. */
export type DecisionMakerRelationship = 'guardian' | 'parent' | 'durable-power-of-attorney' | 'healthcare-power-of-attorney';

export interface DecisionMaker {
  name: HumanName;
  relationship: DecisionMakerRelationship;
  phone?: string;
}

/** A professional named in a plan (TCM, care coordinator, behavior specialist, plan monitor). */
export interface Professional {
  name: string;
  organization: string;
  phone?: string;
}

/** Who wrote the PCSP: the TCM, or for waivers without TCM the MCO care coordinator. */
export interface SupportPlanner extends Professional {
  role: 'targeted-case-manager' | 'mco-care-coordinator';
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

export interface Participant {
  name: string;
  role: ParticipantRole;
}

/** Roles that sign a plan (eLTSS Plan Signatures; codes of ks-signer-role via canonical.ts). */
export type SignerRole = 'person' | 'decision-maker' | 'targeted-case-manager' | 'care-coordinator' | 'provider';

export interface Signature {
  name: string;
  role: SignerRole;
  date: string;
  method: 'written' | 'electronic';
}

export interface InformedConsent {
  givenBy: 'person' | 'decision-maker';
  date: string;
}

export interface DistributionRecipient {
  name: string;
  role: ParticipantRole;
  method: 'mail' | 'email' | 'portal' | 'in-person';
  date: string;
}

/** Functional assessment instruments: BASIS until 2025-07-01, MFEI after (domain.md §4c-4d). */
/** Codes of ks-assessment-instrument. */
export type AssessmentInstrument = 'basis' | 'mfei' | 'mfei-idd' | 'interrai' | 'vineland-ii' | 'other';

export interface FunctionalAssessment {
  instrument: AssessmentInstrument;
  date: string;
  /** BASIS tier 0-5; Tier 0 means not functionally eligible. */
  tier?: number;
  levelOfCare?: string;
  assessor?: string;
}

export type NeedDomain =
  | 'daily-living'
  | 'communication'
  | 'health'
  | 'behavioral-health'
  | 'safety'
  | 'social'
  | 'employment'
  | 'housing'
  | 'education'
  | 'transportation';

export interface AssessedNeed {
  id: string;
  description: string;
  domain: NeedDomain;
}

export interface GoalStep {
  id: string;
  description: string;
  responsible: string;
}

export interface PlanGoal {
  id: string;
  description: string;
  desiredOutcome?: string;
  targetDate?: string;
  addressesNeeds: string[];
  steps?: GoalStep[];
}

/** Units of service, codes of ks-service-unit; "15-min" is the KMAP 15-minute unit (T1017). */
export type ServiceUnit = '15-min' | 'hour' | 'day' | 'month' | 'visit' | 'item';
export type ServiceInterval = 'day' | 'week' | 'month' | 'year';

/** eLTSS Unit Quantity / Unit of Service Type / Quantity Interval. */
export interface ServiceAmount {
  quantity: number;
  unit: ServiceUnit;
  per?: ServiceInterval;
}

export type FundingSource = 'medicaid-waiver' | 'medicaid-state-plan' | 'private' | 'other';

export interface PaidService {
  id: string;
  /** HCPCS code, e.g. T2016 (residential) or T1017 (TCM). */
  serviceCode: string;
  name: string;
  amount: ServiceAmount;
  period: Period;
  provider: ServiceProvider;
  location?: string;
  selfDirected: boolean;
  fundingSource: FundingSource;
  goals: string[];
  comment?: string;
}

export interface NaturalSupport {
  id: string;
  description: string;
  supporter: { name: string; relationship: string };
  goals: string[];
}

export interface PlanRisk {
  id: string;
  description: string;
  mitigation: string;
}

/** The eight elements 42 CFR 441.301(c)(4)(vi)(F) requires for each settings-rights modification. */
export interface RightsModification {
  id: string;
  /** Which settings right is modified (441.301(c)(4)(vi)(A)-(D)). */
  rightModified: string;
  assessedNeed: string;
  positiveInterventionsUsed: string;
  lessIntrusiveMethodsTried: string;
  conditionDescription: string;
  dataCollection: string;
  reviewBy: string;
  informedConsent: InformedConsent;
  /** (F)(8): the assurance itself; only `true` is valid. */
  noHarmAssurance: true;
}

export interface IepParticipation {
  school: string;
  iepMeetingDate: string;
  caseManagerRole: string;
}

export interface PreferredLifestyle {
  livingSetting: string;
  settingChosenByPerson: boolean;
  alternativeSettingsConsidered: string[];
  livesWith: string;
  workOrValuedActivity: string;
  socializesWith: string;
  communityActivities: string[];
}

export interface PcspDocument {
  documentType: 'pcsp';
  schemaVersion: '1.0';
  planId: string;
  status: PlanStatus;
  /** Absent for mental-health TCM (chronic mental illness), which is not an HCBS waiver service. */
  waiver?: WaiverProgram;
  person: PersonDemographics;
  decisionMaker?: DecisionMaker;
  supportPlanner: SupportPlanner;
  effectivePeriod: ClosedPeriod;
  nextReviewDate: string;
  preferredLifestyle: PreferredLifestyle;
  strengths: string[];
  preferences: string[];
  communicationMethods: string[];
  functionalAssessment: FunctionalAssessment;
  assessedNeeds: AssessedNeed[];
  goals: PlanGoal[];
  services: PaidService[];
  naturalSupports?: NaturalSupport[];
  risks: PlanRisk[];
  backupPlan: string;
  rightsModifications?: RightsModification[];
  iepParticipation?: IepParticipation;
  monitor: Professional;
  participants: Participant[];
  informedConsent: InformedConsent;
  signatures: Signature[];
  distribution: DistributionRecipient[];
}

export interface TargetBehavior {
  id: string;
  name: string;
  operationalDefinition: string;
}

export interface PositiveSupport {
  id: string;
  description: string;
  behaviors: string[];
}

export type RestrictiveInterventionType =
  | 'physical-restraint'
  | 'mechanical-restraint'
  | 'chemical-restraint'
  | 'seclusion'
  | 'restricted-access'
  | 'other';

/** K.A.R. 30-63-23(b)(1)(C) consent plus the behavioral management committee's approval. */
export interface RestrictiveIntervention {
  id: string;
  type: RestrictiveInterventionType;
  description: string;
  behaviors: string[];
  risksBenefitsSideEffectsReviewed: string;
  informedConsent: InformedConsent;
  committeeApproval: { committee: string; date: string };
  /** Time limit: review date (441.301(c)(4)(vi)(F)(6)). */
  reviewBy: string;
}

export interface PrnMedication {
  id: string;
  medication: string;
  indication: string;
  prescriber: string;
  consent: InformedConsent;
}

export interface BspDocument {
  documentType: 'bsp';
  schemaVersion: '1.0';
  planId: string;
  status: PlanStatus;
  waiver: WaiverProgram;
  pcspPlanId: string;
  person: PersonReference;
  author: Professional;
  effectivePeriod: ClosedPeriod;
  nextReviewDate: string;
  targetBehaviors: TargetBehavior[];
  functionalAssessmentSummary: { date: string; summary: string };
  positiveSupports: PositiveSupport[];
  environmentalAccommodations: string[];
  lessRestrictiveAlternativesTried: string[];
  restrictiveInterventions?: RestrictiveIntervention[];
  prnMedications?: PrnMedication[];
  dataCollection: { method: string; frequency: string; responsible: string };
}

export type Mco = 'sunflower' | 'uhc-community-plan' | 'healthy-blue' | 'aetna-better-health-ks' | 'amerigroup-ks';

export interface IspNeed {
  id: string;
  description: string;
  category: 'physical-health' | 'behavioral-health' | 'social' | 'long-term-services';
}

export interface IspGoal {
  id: string;
  description: string;
  targetDate?: string;
  addressesNeeds: string[];
}

export interface AuthorizedService {
  id: string;
  serviceCode: string;
  name: string;
  authorizationNumber: string;
  units: { quantity: number; unit: ServiceUnit };
  authorizedPeriod: { start: string; end: string };
  provider: ServiceProvider;
  goals: string[];
}

export interface NonMedicaidResource {
  id: string;
  description: string;
  source: string;
}

export interface HealthCondition {
  id: string;
  description: string;
  /** ICD-10-CM code when known. */
  icd10?: string;
}

export interface MedicationEntry {
  id: string;
  name: string;
  dosage?: string;
}

export interface CareTransition {
  id: string;
  type: 'emergency-department' | 'inpatient';
  date: string;
  facility: string;
  followUp: string;
  followUpStatus: 'requested' | 'in-progress' | 'completed';
}

export type HighRiskFlag = 'environmental' | 'medical' | 'complex-physical-health' | 'complex-behavioral-health';

export interface IspDocument {
  documentType: 'isp';
  schemaVersion: '1.0';
  planId: string;
  status: PlanStatus;
  waiver: WaiverProgram;
  mco: Mco;
  person: PersonReference;
  pcspPlanId: string;
  bspPlanId?: string;
  careCoordinator: Professional;
  targetedCaseManager?: Professional;
  effectivePeriod: ClosedPeriod;
  nextReviewDate: string;
  healthNeedsAssessment: { date: string; summary: string };
  needs: IspNeed[];
  goals: IspGoal[];
  authorizedServices: AuthorizedService[];
  nonMedicaidResources?: NonMedicaidResource[];
  primaryCare: {
    conditions: HealthCondition[];
    medications?: MedicationEntry[];
    transitions?: CareTransition[];
    highRiskFlags?: HighRiskFlag[];
  };
}

export type PlanDocument = PcspDocument | BspDocument | IspDocument;
