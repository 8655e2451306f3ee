import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import { FhirPackageExplorer } from 'fhir-package-explorer';
import { afterAll, describe, expect, it } from 'vitest';
import type { PackageIndex } from '../../scripts/profiles-build.ts';
import { loadKansasPackage } from '../../src/conformance/kansas-package.ts';

/**
 * profiles/package is a FHIR NPM package folder (https://hl7.org/fhir/packages.html) that other
 * systems can load: checked here by reading it the way a consumer does, and by loading it with
 * fhir-package-explorer from a package cache, registry disabled.
 */

const packageDir = join(import.meta.dirname, '..', '..', 'profiles', 'package');
const readJson = <T>(file: string): T => JSON.parse(readFileSync(join(packageDir, file), 'utf8')) as T;

interface Manifest {
  name: string;
  version: string;
  canonical: string;
  fhirVersions: string[];
  dependencies: Record<string, string>;
}

describe('FHIR package profiles/package', () => {
  const manifest = readJson<Manifest>('package.json');
  const index = readJson<PackageIndex>('.index.json');
  const pkg = loadKansasPackage();
  const caches: string[] = [];
  afterAll(() => {
    for (const dir of caches) rmSync(dir, { recursive: true, force: true });
  });

  it('has the manifest of profiles/package.json: name, version, canonical, FHIR 4.0.1, dependencies', () => {
    expect(manifest).toEqual(JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'profiles', 'package.json'), 'utf8')));
    expect(manifest.fhirVersions).toEqual(['4.0.1']);
    expect(manifest.dependencies).toMatchObject({ 'hl7.fhir.r4.core': '4.0.1', 'hl7.fhir.us.core': '6.1.0' });
  });

  it('.index.json lists every resource file exactly once, and each entry matches the file it names', () => {
    expect(index['index-version']).toBe(2);
    const resourceFiles = readdirSync(packageDir).filter((f) => f.endsWith('.json') && f !== 'package.json' && !f.startsWith('.')).sort();
    expect(index.files.map((f) => f.filename).sort()).toEqual(resourceFiles);
    for (const entry of index.files) {
      expect(existsSync(join(packageDir, entry.filename)), entry.filename).toBe(true);
      const resource = readJson<Resource & { url?: string; version?: string; kind?: string; type?: string; content?: string }>(entry.filename);
      expect([resource.resourceType, resource.id, resource.url, resource.version], entry.filename).toEqual([entry.resourceType, entry.id, entry.url, entry.version]);
      expect(entry.filename).toBe(`${resource.resourceType}-${resource.id}.json`);
      if (resource.resourceType === 'StructureDefinition') {
        expect([entry.kind, entry.type], entry.filename).toEqual([resource.kind, resource.type]);
      }
      if (resource.resourceType === 'CodeSystem') {
        expect(entry.content, entry.filename).toBe(resource.content);
      }
    }
  });

  it('holds the same artifacts the server serves, StructureDefinitions with their snapshots', () => {
    const listed = index.files.map((f) => f.url).sort();
    expect(listed).toEqual(pkg.resources.map((r) => r.url).sort());
    for (const entry of index.files.filter((f) => f.resourceType === 'StructureDefinition')) {
      expect(readJson<StructureDefinition>(entry.filename).snapshot?.element?.length ?? 0, entry.filename).toBeGreaterThan(0);
    }
  });

  it('loads with fhir-package-explorer from a package cache (<id>#<version>/package), offline', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'kanplan-pkg-'));
    caches.push(cache);
    cpSync(packageDir, join(cache, `${manifest.name}#${manifest.version}`, 'package'), { recursive: true });
    // The dependencies as empty packages: what is checked is that ours loads and resolves, not theirs.
    const stubs: [string, string, Record<string, string>][] = [
      ['hl7.fhir.r4.core', '4.0.1', {}],
      ['hl7.terminology.r4', '5.0.0', {}],
      ['hl7.fhir.uv.extensions.r4', '1.0.0', {}],
      ['hl7.fhir.us.core', '6.1.0', { 'hl7.fhir.r4.core': '4.0.1' }],
    ];
    for (const [name, version, dependencies] of stubs) {
      const dir = join(cache, `${name}#${version}`, 'package');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version, fhirVersions: ['4.0.1'], dependencies }));
    }
    const fpe = await FhirPackageExplorer.create({
      context: [`${manifest.name}#${manifest.version}`],
      cachePath: cache,
      registryUrl: 'n/a', // no registry: nothing may come from the network
      fhirVersion: '4.0.1',
      skipExamples: true,
    });
    const found = (await fpe.lookupMeta({ package: { id: manifest.name, version: manifest.version } })) as { url?: string; resourceType: string }[];
    expect(found.map((f) => f.url).sort()).toEqual(index.files.map((f) => f.url).sort());
    const pcsp = (await fpe.resolve({ resourceType: 'StructureDefinition', url: 'https://kanplan.org/fhir/StructureDefinition/ks-pcsp-careplan' })) as StructureDefinition;
    expect(pcsp.type).toBe('CarePlan');
    expect(pcsp.snapshot?.element?.length ?? 0).toBeGreaterThan(0);
  }, 60_000);
});
