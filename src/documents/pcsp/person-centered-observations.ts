import type { Observation } from '@medplum/fhirtypes';
import { componentBoolean, componentString, componentStrings, planComponent, planObservation } from '../mapping/fhir-elements.ts';
import type { PlanContext, PlannedResource } from '../mapping/plan-context.ts';
import { observationOfItem } from '../mapping/stored-plan.ts';
import type { PcspDocument } from './pcsp-types.ts';

/**
 * What matters to the person — preferred lifestyle, strengths, preferences, how they communicate —
 * ↔ plan-element Observations, one per part, one component per list item (fhir-elements.ts
 * planObservation).
 */

type PersonCenteredParts = Pick<PcspDocument, 'preferredLifestyle' | 'strengths' | 'preferences' | 'communicationMethods'>;

export function personCenteredObservations(ctx: PlanContext<PcspDocument>): PlannedResource[] {
  const { doc } = ctx;
  const lifestyle = doc.preferredLifestyle;
  const listObservation = (code: string, itemCode: string, values: readonly string[], pointer: string): PlannedResource => {
    const identifier = ctx.item('observation', code);
    const resource = planObservation({ identifier, code, subject: ctx.patient, components: values.map((v) => planComponent(itemCode, v)) });
    return { resource, identifier, pointer };
  };
  const lifestyleIdentifier = ctx.item('observation', 'preferred-lifestyle');
  // K.A.R. 30-63-21(a)(2)(A)-(E) preferred lifestyle; 441.301(c)(1) alternative settings considered.
  const lifestyleObservation = planObservation({
    identifier: lifestyleIdentifier,
    code: 'preferred-lifestyle',
    subject: ctx.patient,
    components: [
      planComponent('living-setting', lifestyle.livingSetting),
      planComponent('setting-chosen-by-person', lifestyle.settingChosenByPerson),
      ...lifestyle.alternativeSettingsConsidered.map((s) => planComponent('alternative-setting-considered', s)),
      planComponent('lives-with', lifestyle.livesWith),
      planComponent('work-or-valued-activity', lifestyle.workOrValuedActivity),
      planComponent('socializes-with', lifestyle.socializesWith),
      ...lifestyle.communityActivities.map((s) => planComponent('community-activity', s)),
    ],
  });
  return [
    listObservation('strengths', 'strength', doc.strengths, '/strengths'),
    listObservation('preferences', 'preference', doc.preferences, '/preferences'),
    listObservation('communication-methods', 'communication-method', doc.communicationMethods, '/communicationMethods'),
    { resource: lifestyleObservation, identifier: lifestyleIdentifier, pointer: '/preferredLifestyle' },
  ];
}

/** `observations`: the plan's Observations of kind `observation`. */
export function personCenteredPartsFrom(observations: readonly Observation[]): PersonCenteredParts {
  const lifestyle = observationOfItem(observations, 'preferred-lifestyle');
  return {
    preferredLifestyle: {
      livingSetting: componentString(lifestyle, 'living-setting'),
      settingChosenByPerson: componentBoolean(lifestyle, 'setting-chosen-by-person'),
      alternativeSettingsConsidered: componentStrings(lifestyle, 'alternative-setting-considered'),
      livesWith: componentString(lifestyle, 'lives-with'),
      workOrValuedActivity: componentString(lifestyle, 'work-or-valued-activity'),
      socializesWith: componentString(lifestyle, 'socializes-with'),
      communityActivities: componentStrings(lifestyle, 'community-activity'),
    },
    strengths: componentStrings(observationOfItem(observations, 'strengths'), 'strength'),
    preferences: componentStrings(observationOfItem(observations, 'preferences'), 'preference'),
    communicationMethods: componentStrings(observationOfItem(observations, 'communication-methods'), 'communication-method'),
  };
}
