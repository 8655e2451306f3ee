import type { ClosedPeriod, PersonReference, PlanStatus, Professional, ServiceProvider, ServiceUnit, WaiverProgram } from '../common-types.ts';

/** The ISP (KanCare Integrated Service Plan) as a TypeScript type, mirroring `schemas/isp.schema.json`. */

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
