import type { BspDocument } from './bsp/bsp-types.ts';
import type { IspDocument } from './isp/isp-types.ts';
import type { PcspDocument } from './pcsp/pcsp-types.ts';

/**
 * The three Kansas planning documents as TypeScript types: this union, the parts they share
 * (common-types.ts) and one file per document (pcsp/, bsp/, isp/). The JSON Schemas in
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

export type PlanDocument = PcspDocument | BspDocument | IspDocument;
