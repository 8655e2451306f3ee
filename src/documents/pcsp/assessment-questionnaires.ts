import { readFileSync } from 'node:fs';
import { instrumentDisplay } from '../canonical.ts';
import type { AssessmentInstrument } from './pcsp-types.ts';

/**
 * The Questionnaire canonical each functional-assessment instrument's QuestionnaireResponse names
 * (R4 QuestionnaireResponse.questionnaire). Kept as data in `assessment-questionnaires.json`, not
 * in code: no official Questionnaire exists for BASIS or MFEI (domain.md §7b, NOT FOUND), so the
 * kanplan.org canonicals there are placeholders to be replaced without touching the mappers.
 */

const dataFile = new URL('./assessment-questionnaires.json', import.meta.url);

const instrumentCodes = Object.keys(instrumentDisplay) as AssessmentInstrument[];

/** Reads and checks the data file: every instrument code maps to an absolute canonical URL. */
export function parseAssessmentQuestionnaires(text: string): Readonly<Record<AssessmentInstrument, string>> {
  const parsed: unknown = JSON.parse(text);
  const map = (parsed as { questionnaireByInstrument?: unknown } | null)?.questionnaireByInstrument;
  if (!map || typeof map !== 'object') {
    throw new Error(`${dataFile.pathname}: expected an object "questionnaireByInstrument".`);
  }
  const entries = map as Record<string, unknown>;
  const result = {} as Record<AssessmentInstrument, string>;
  for (const code of instrumentCodes) {
    const canonical = entries[code];
    // A canonical is an absolute URI (https://hl7.org/fhir/R4/references.html#canonical).
    if (typeof canonical !== 'string' || !/^[a-z][a-z0-9+.-]*:\S+$/i.test(canonical)) {
      throw new Error(`${dataFile.pathname}: instrument "${code}" needs a Questionnaire canonical URL.`);
    }
    result[code] = canonical;
  }
  return result;
}

export const questionnaireByInstrument = parseAssessmentQuestionnaires(readFileSync(dataFile, 'utf8'));
