import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  CodeSystem,
  ImplementationGuide,
  OperationDefinition,
  SearchParameter,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';

/** Canonical base of every Kansas artifact (profiles/CATALOG.md). */
export const KANSAS_CANONICAL_BASE = 'https://kanplan.org/fhir';

export type ConformanceResource =
  | StructureDefinition
  | CodeSystem
  | ValueSet
  | SearchParameter
  | ImplementationGuide
  | OperationDefinition;

/** Everything the Kansas FHIR package (`profiles/`) holds, as loaded at run time. */
export interface KansasPackage {
  /** The FHIR package manifest `profiles/package.json`. */
  readonly manifest: {
    readonly name: string;
    readonly version: string;
    readonly canonical: string;
    /** Package id -> version, e.g. hl7.fhir.us.core 6.1.0 (https://hl7.org/fhir/packages.html). */
    readonly dependencies: Readonly<Record<string, string>>;
  };
  /** Kansas StructureDefinitions (profiles and extensions), each with its generated snapshot. */
  readonly structureDefinitions: readonly StructureDefinition[];
  readonly codeSystems: readonly CodeSystem[];
  readonly valueSets: readonly ValueSet[];
  readonly searchParameters: readonly SearchParameter[];
  readonly implementationGuide: ImplementationGuide;
  readonly operationDefinitions: readonly OperationDefinition[];
  /** Every resource above, in one list (what the server stores and serves). */
  readonly resources: readonly ConformanceResource[];
  /** Profiles only (StructureDefinition.type is not Extension): for CapabilityStatement.supportedProfile. */
  readonly profiles: readonly StructureDefinition[];
  /** The US Core 6.1.0 profiles the Kansas ones derive from, with snapshots (dependency, not Kansas content). */
  readonly usCoreProfiles: readonly StructureDefinition[];
  /** US Core 6.1.0 CodeSystems and ValueSets vendored in profiles/vendor (dependency content). */
  readonly usCoreTerminology: readonly (CodeSystem | ValueSet)[];
}

const profilesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'profiles');

function readJsonFolder<T>(dir: string): T[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as T);
}

let cached: KansasPackage | undefined;

/**
 * Loads the Kansas implementation guide from `profiles/`: StructureDefinitions with snapshots from
 * `profiles/generated/` (written by `npm run profiles:build`), and CodeSystems, ValueSets,
 * SearchParameters and OperationDefinitions (kanplan's own operations) from `profiles/input/`.
 * Only JSON is read; the result is cached per process.
 */
export function loadKansasPackage(): KansasPackage {
  if (cached) {
    return cached;
  }
  const manifest = JSON.parse(readFileSync(join(profilesDir, 'package.json'), 'utf8')) as KansasPackage['manifest'];
  const generated = readJsonFolder<StructureDefinition | ImplementationGuide>(join(profilesDir, 'generated'));
  const input = readJsonFolder<ConformanceResource>(join(profilesDir, 'input'));
  const structureDefinitions = generated.filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition');
  const implementationGuide = generated.find((r): r is ImplementationGuide => r.resourceType === 'ImplementationGuide');
  if (!implementationGuide) {
    throw new Error('profiles/generated has no ImplementationGuide: run `npm run profiles:build`');
  }
  const codeSystems = input.filter((r): r is CodeSystem => r.resourceType === 'CodeSystem');
  const valueSets = input.filter((r): r is ValueSet => r.resourceType === 'ValueSet');
  const searchParameters = input.filter((r): r is SearchParameter => r.resourceType === 'SearchParameter');
  const operationDefinitions = input.filter((r): r is OperationDefinition => r.resourceType === 'OperationDefinition');
  const usCoreProfiles = readJsonFolder<StructureDefinition>(join(profilesDir, 'generated', 'us-core'));
  const usCoreTerminology = readJsonFolder<CodeSystem | ValueSet | StructureDefinition>(join(profilesDir, 'vendor', 'us-core-6.1.0')).filter(
    (r): r is CodeSystem | ValueSet => r.resourceType === 'CodeSystem' || r.resourceType === 'ValueSet',
  );
  cached = {
    manifest,
    structureDefinitions,
    codeSystems,
    valueSets,
    searchParameters,
    implementationGuide,
    operationDefinitions,
    resources: [...structureDefinitions, ...codeSystems, ...valueSets, ...searchParameters, ...operationDefinitions, implementationGuide],
    profiles: structureDefinitions.filter((sd) => sd.type !== 'Extension'),
    usCoreProfiles,
    usCoreTerminology,
  };
  return cached;
}
