import type { ClosedPeriod, InformedConsent, PersonReference, PlanStatus, Professional, WaiverProgram } from '../common-types.ts';

/** The BSP (Behavior Support Plan) as a TypeScript type, mirroring `schemas/bsp.schema.json`. */

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
