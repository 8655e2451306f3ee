import type {
  ClosedPeriod,
  HumanName,
  InformedConsent,
  ParticipantRole,
  Period,
  PlanStatus,
  PostalAddress,
  Professional,
  ServiceProvider,
  ServiceUnit,
  SignerRole,
  WaiverProgram,
} from '../common-types.ts';

/** The PCSP (Person-Centered Support Plan) as a TypeScript type, mirroring `schemas/pcsp.schema.json`. */

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

/** Relationship of an authorized decision maker, mapped to HL7 v3 RoleCode. */
export type DecisionMakerRelationship = 'guardian' | 'parent' | 'durable-power-of-attorney' | 'healthcare-power-of-attorney';

export interface DecisionMaker {
  name: HumanName;
  relationship: DecisionMakerRelationship;
  phone?: string;
}

/** Who wrote the PCSP: the TCM, or for waivers without TCM the MCO care coordinator. */
export interface SupportPlanner extends Professional {
  role: 'targeted-case-manager' | 'mco-care-coordinator';
}

export interface Participant {
  name: string;
  role: ParticipantRole;
}

export interface Signature {
  name: string;
  role: SignerRole;
  date: string;
  method: 'written' | 'electronic';
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
