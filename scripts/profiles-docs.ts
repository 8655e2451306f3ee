/**
 * `npm run profiles:docs` — writes the human-readable documentation of the Kansas implementation
 * guide to `docs/ig/` (Markdown): one page per profile and extension (Kansas constraints, bindings,
 * examples), the terminology, the search parameters and kanplan's operations. Generated from `profiles/` and
 * `bundles/examples/` only; test/profiles/docs.test.ts fails when the checked-in pages drift.
 *
 * Usage: node scripts/profiles-docs.ts [--out DIR]   (default DIR = docs/ig)
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeSystem, CodeSystemConcept, ElementDefinition, OperationDefinition, SearchParameter, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { KANSAS_CANONICAL_BASE, loadKansasPackage } from '../src/conformance/kansas-package.ts';
import { IDENTIFYING_ELEMENT_EXTENSION } from '../src/validation/profile-detection.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const examplesDir = join(root, 'bundles', 'examples');
const inputDir = join(root, 'profiles', 'input');

function cell(text: string | undefined): string {
  return (text ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function cardinality(e: ElementDefinition): string {
  return e.min === undefined && e.max === undefined ? '' : `${e.min ?? ''}..${e.max ?? ''}`;
}

function valueOf(e: ElementDefinition, prefix: 'fixed' | 'pattern'): string | undefined {
  const key = Object.keys(e).find((k) => k.startsWith(prefix) && k.length > prefix.length);
  return key ? `${key} \`${JSON.stringify((e as unknown as Record<string, unknown>)[key])}\`` : undefined;
}

function typeText(e: ElementDefinition): string {
  return (e.type ?? [])
    .map((t) => {
      const targets = [...(t.targetProfile ?? []), ...(t.profile ?? [])].map((u) => u.split('/').pop());
      return targets.length > 0 ? `${t.code}(${targets.join(' \\| ')})` : t.code;
    })
    .join(' \\| ');
}

function constraintsText(e: ElementDefinition): string {
  const parts: string[] = [];
  const fixed = valueOf(e, 'fixed') ?? valueOf(e, 'pattern');
  if (fixed) {
    parts.push(fixed);
  }
  if (e.binding?.valueSet) {
    parts.push(`binding ${e.binding.strength} \`${e.binding.valueSet}\``);
  }
  if (e.slicing) {
    parts.push(`sliced by ${(e.slicing.discriminator ?? []).map((d) => `${d.type}:${d.path}`).join(', ')}`);
  }
  for (const c of e.constraint ?? []) {
    if (c.source === undefined || c.source.startsWith(`${KANSAS_CANONICAL_BASE}/`)) {
      parts.push(`${c.key}: ${c.human} (\`${c.expression}\`)`);
    }
  }
  if (e.mustSupport) {
    parts.push('must support');
  }
  return parts.join('; ');
}

function exampleFiles(id: string): { valid: string[]; invalid: string[] } {
  const list = (kind: string): string[] =>
    readdirSync(join(examplesDir, kind))
      .filter((f) => f === `${id}.json` || (f.startsWith(`${id}-`) && f.endsWith('.json')))
      .sort();
  return { valid: list('valid'), invalid: list('invalid') };
}

/** The first use of an extension in the valid examples, with where it sits. */
function extensionExample(url: string): { file: string; path: string; extension: unknown } | undefined {
  const find = (value: unknown, path: string): { path: string; extension: unknown } | undefined => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = find(value[i], `${path}[${i}]`);
        if (found) return found;
      }
      return undefined;
    }
    if (typeof value !== 'object' || value === null) {
      return undefined;
    }
    const record = value as Record<string, unknown>;
    if (record.url === url && path.includes('xtension')) {
      return { path, extension: value };
    }
    for (const [key, child] of Object.entries(record)) {
      const found = find(child, `${path}.${key}`);
      if (found) return found;
    }
    return undefined;
  };
  // An extension on resources is shown from the examples; one on StructureDefinitions from the profiles.
  for (const dir of [join(examplesDir, 'valid'), inputDir]) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const resource = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { resourceType: string };
      const found = find(resource, resource.resourceType);
      if (found) {
        return { file: `${dir.slice(root.length + 1)}/${file}`, ...found };
      }
    }
  }
  return undefined;
}

/** The elements a profile names as identifying its instances without meta.profile (ks-identifying-element). */
function identifyingElements(sd: StructureDefinition): string[] {
  return (sd.extension ?? []).filter((e) => e.url === IDENTIFYING_ELEMENT_EXTENSION).map((e) => e.valueString ?? '');
}

function profilePage(sd: StructureDefinition, allSds: readonly StructureDefinition[]): string {
  const lines: string[] = [];
  const isExtension = sd.type === 'Extension';
  lines.push(`# ${sd.title ?? sd.name}`, '');
  lines.push(`- Canonical: \`${sd.url}\``);
  lines.push(`- Version: ${sd.version ?? ''}`);
  lines.push(`- ${isExtension ? 'Extension of' : 'Profile of'}: \`${sd.baseDefinition}\` (resource type ${sd.type})`);
  if (isExtension) {
    lines.push(`- Context: ${(sd.context ?? []).map((c) => `\`${c.expression}\``).join(', ')}`);
  }
  const identifying = identifyingElements(sd);
  if (identifying.length > 0) {
    const ext = allSds.find((s) => s.url === IDENTIFYING_ELEMENT_EXTENSION);
    lines.push(`- Validated without \`meta.profile\` when the resource carries a value of: ${identifying.map((id) => `\`${id}\``).join(', ')} ([${ext?.title}](${ext?.id}.md))`);
  }
  lines.push('', sd.description ?? '', '');
  if (sd.purpose) {
    lines.push(sd.purpose, '');
  }
  lines.push('## Kansas constraints (differential)', '');
  lines.push('| Element | Card. | Type | Constraints | Definition / comment |', '|---|---|---|---|---|');
  for (const e of sd.differential?.element ?? []) {
    if (e.id?.endsWith('.url') && Object.keys(e).length <= 2) {
      continue; // technical `.url` child that makes extension slices matchable (see scripts/profiles-build.ts)
    }
    const text = [e.short, e.definition !== sd.description ? e.definition : undefined, e.comment].filter(Boolean).join(' — ');
    lines.push(`| \`${e.id}\` | ${cardinality(e)} | ${typeText(e)} | ${cell(constraintsText(e))} | ${cell(text)} |`);
  }
  lines.push('');
  const bindings = (sd.snapshot?.element ?? []).filter(
    (e) => e.binding?.valueSet && (e.binding.strength === 'required' || e.binding.strength === 'extensible'),
  );
  if (bindings.length > 0) {
    lines.push('## Coded elements checked on write (required = error, extensible = warning)', '');
    lines.push('| Element | Strength | Value set |', '|---|---|---|');
    for (const e of bindings) {
      lines.push(`| \`${e.id}\` | ${e.binding?.strength} | \`${e.binding?.valueSet}\` |`);
    }
    lines.push('');
  }
  const extensions = (sd.snapshot?.element ?? []).filter(
    (e) => e.sliceName && e.type?.[0]?.code === 'Extension' && e.type[0].profile?.[0] && !e.id?.includes('.extension:', e.id.indexOf(':') + 1),
  );
  if (extensions.length > 0 && !isExtension) {
    lines.push('## Extensions', '');
    for (const e of extensions) {
      const url = e.type?.[0]?.profile?.[0] as string;
      const local = allSds.find((s) => s.url === url);
      lines.push(`- \`${e.sliceName}\` ${e.min}..${e.max}: ${local ? `[${local.title}](${local.id}.md)` : `\`${url}\``}`);
    }
    lines.push('');
  }
  if (isExtension) {
    const usage = extensionExample(sd.url);
    lines.push('## Example', '');
    if (usage) {
      lines.push(`From [${usage.file}](../../${usage.file}) (${usage.path}):`, '');
      lines.push('```json', JSON.stringify(usage.extension, null, 2), '```', '');
    } else {
      lines.push('No example uses this extension yet.', '');
    }
  }
  if (!isExtension) {
    const { valid, invalid } = exampleFiles(sd.id as string);
    lines.push('## Examples', '');
    for (const f of valid) {
      lines.push(`- valid: [bundles/examples/valid/${f}](../../bundles/examples/valid/${f})`);
    }
    for (const f of invalid) {
      lines.push(`- invalid: [bundles/examples/invalid/${f}](../../bundles/examples/invalid/${f})`);
    }
    if (valid.length > 0) {
      lines.push('', '```json', readFileSync(join(examplesDir, 'valid', valid[0]), 'utf8').trimEnd(), '```');
    }
    lines.push('');
  }
  return lines.join('\n');
}

function conceptRows(concepts: readonly CodeSystemConcept[] | undefined, depth = 0): string[] {
  return (concepts ?? []).flatMap((c) => {
    const props = (c.property ?? [])
      .map((p) => {
        const key = Object.keys(p).find((k) => k.startsWith('value')) as keyof typeof p | undefined;
        return `${p.code}=${key ? String(p[key]) : ''}`;
      })
      .join(', ');
    return [`| ${'&nbsp;'.repeat(depth * 2)}\`${c.code}\` | ${cell(c.display)} | ${cell(c.definition)} | ${cell(props)} |`, ...conceptRows(c.concept, depth + 1)];
  });
}

function terminologyPage(codeSystems: readonly CodeSystem[], valueSets: readonly ValueSet[]): string {
  const lines = ['# Kansas terminology', '', 'CodeSystems and ValueSets of the Kansas implementation guide. Validate a code with', '`GET /fhir/ValueSet/{id}/$validate-code?system=...&code=...`; list one with `GET /fhir/ValueSet/{id}/$expand?filter=...`.', ''];
  for (const cs of codeSystems) {
    lines.push(`## ${cs.title ?? cs.name}`, '', `- CodeSystem: \`${cs.url}\``, `- ValueSet (all codes): \`${cs.valueSet ?? ''}\``, '', cs.description ?? '', '');
    lines.push('| Code | Display | Definition | Properties |', '|---|---|---|---|', ...conceptRows(cs.concept), '');
  }
  lines.push('## ValueSets', '', '| ValueSet | Includes |', '|---|---|');
  for (const vs of valueSets) {
    const includes = (vs.compose?.include ?? []).map((i) => `\`${i.system ?? (i.valueSet ?? []).join(', ')}\``).join(' + ');
    lines.push(`| \`${vs.url}\` | ${includes} |`);
  }
  lines.push('');
  return lines.join('\n');
}

function searchPage(params: readonly SearchParameter[]): string {
  const lines = ['# Kansas search parameters', '', 'Indexed by the search engine from `profiles/input/SearchParameter-*.json`.', ''];
  lines.push('| Parameter | Resources | Type | Expression | Description |', '|---|---|---|---|---|');
  for (const sp of params) {
    lines.push(`| \`${sp.code}\` | ${(sp.base ?? []).join(', ')} | ${sp.type} | \`${cell(sp.expression)}\` | ${cell(sp.description)} |`);
  }
  lines.push('');
  return lines.join('\n');
}

function operationLevels(od: OperationDefinition): string {
  const levels = [od.system ? 'system' : undefined, od.type ? 'type' : undefined, od.instance ? 'instance' : undefined].filter(Boolean);
  return levels.join(', ');
}

function operationsPage(operations: readonly OperationDefinition[]): string {
  const lines = ['# kanplan operations', '', 'Defined in `profiles/input/OperationDefinition-*.json`, served under `/fhir/OperationDefinition` and listed in the CapabilityStatement.', ''];
  for (const od of operations) {
    const resources = (od.resource ?? []).join(', ');
    lines.push(`## \`$${od.code}\` — ${od.title ?? od.name}`, '');
    lines.push(`- Canonical: \`${od.url}\``);
    lines.push(`- Invoked on: ${resources} (${operationLevels(od)}), ${od.affectsState ? 'POST (changes data)' : 'GET or POST (reads only)'}`);
    lines.push('', od.description ?? '', '');
    lines.push('| Parameter | Use | Card. | Type | Documentation |', '|---|---|---|---|---|');
    for (const p of od.parameter ?? []) {
      lines.push(`| \`${p.name}\` | ${p.use} | ${p.min}..${p.max} | ${p.type ?? ''} | ${cell(p.documentation)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Every page, in memory: file name (relative to docs/ig) -> Markdown. */
export function buildDocs(): Map<string, string> {
  const pkg = loadKansasPackage();
  const pages = new Map<string, string>();
  const profiles = pkg.structureDefinitions.filter((sd) => sd.type !== 'Extension');
  const extensions = pkg.structureDefinitions.filter((sd) => sd.type === 'Extension');
  for (const sd of pkg.structureDefinitions) {
    pages.set(`${sd.id}.md`, profilePage(sd, pkg.structureDefinitions));
  }
  pages.set('terminology.md', terminologyPage(pkg.codeSystems, pkg.valueSets));
  pages.set('search-parameters.md', searchPage(pkg.searchParameters));
  pages.set('operations.md', operationsPage(pkg.operationDefinitions));
  const index = [
    `# ${pkg.implementationGuide.title}`,
    '',
    `Package \`${pkg.manifest.name}\` ${pkg.manifest.version} (FHIR 4.0.1), canonical base \`${pkg.manifest.canonical}\`, depends on US Core 6.1.0.`,
    `ImplementationGuide: \`${pkg.implementationGuide.url}\`. Generated by \`npm run profiles:docs\` from \`profiles/\`; do not edit by hand.`,
    '',
    pkg.implementationGuide.description ?? '',
    '',
    '## Profiles',
    '',
    '| Profile | Resource | Based on | Canonical |',
    '|---|---|---|---|',
    ...profiles.map((sd) => `| [${sd.title}](${sd.id}.md) | ${sd.type} | \`${sd.baseDefinition?.split('/').pop()}\` | \`${sd.url}\` |`),
    '',
    '## Extensions',
    '',
    '| Extension | Context | Canonical |',
    '|---|---|---|',
    ...extensions.map((sd) => `| [${sd.title}](${sd.id}.md) | ${(sd.context ?? []).map((c) => c.expression).join(', ')} | \`${sd.url}\` |`),
    '',
    '## Terminology, search and operations',
    '',
    `- [CodeSystems and ValueSets](terminology.md) (${pkg.codeSystems.length} CodeSystems, ${pkg.valueSets.length} ValueSets)`,
    `- [Search parameters](search-parameters.md) (${pkg.searchParameters.length})`,
    `- [Operations](operations.md) (${pkg.operationDefinitions.map((od) => `\`$${od.code}\``).join(', ')})`,
    '',
    '## Validation on write',
    '',
    'Every create, update, patch and transaction entry is validated against base R4 and every profile in `meta.profile` the',
    'server knows (an unknown one is a warning). A resource without `meta.profile` is validated against the Kansas profile',
    'whose identifying element (extension [KS Identifying Element](ks-identifying-element.md)) it carries a value of:',
    '',
    ...profiles.filter((sd) => identifyingElements(sd).length > 0).map((sd) => `- [${sd.title}](${sd.id}.md): ${identifyingElements(sd).map((id) => `\`${id}\``).join(', ')}`),
    '',
    'Beyond structure and cardinality (@medplum/core), kanplan checks required bindings (error) and extensible bindings',
    '(warning) against local terminology, the content and fixed/pattern values of matched slices and extensions, and',
    'extension value types. `POST /fhir/[type]/$validate` runs the same checks without storing; `kanplan validate FILE...`',
    'runs them offline.',
    '',
    'A rejected write is 400 when the resource is not valid against the base StructureDefinition of its type alone (unknown',
    'element, wrong type, base cardinality, base required binding, base invariant), and 422 when it is and only profiles',
    '(these, US Core, extension definitions, `ks-*` invariants) reject it (https://hl7.org/fhir/R4/http.html#update).',
    '',
    '## Loading the package',
    '',
    `\`profiles/package/\` is the guide as a standard FHIR NPM package folder (https://hl7.org/fhir/packages.html): \`package.json\``,
    `(\`${pkg.manifest.name}\` ${pkg.manifest.version}, depending on ${Object.entries(pkg.manifest.dependencies).map(([id, v]) => `\`${id}\` ${v}`).join(' and ')}), every artifact above as`,
    '`<Type>-<id>.json` (StructureDefinitions with snapshots) and `.index.json` ("index-version": 2, one entry per file:',
    '`filename`, `resourceType`, `id`, `url`, `version`, `kind`, `type`, `content`). Written by `npm run profiles:build`,',
    'checked for drift and loaded with fhir-package-explorer in tests. Use it',
    '',
    `- as a folder: copy it to \`<package cache>/${pkg.manifest.name}#${pkg.manifest.version}/package\`, the layout of \`~/.fhir/packages\``,
    '  that fhir-package-explorer (tested) and the FHIR tooling read;',
    `- as a tarball: \`tar -czf ${pkg.manifest.name}-${pkg.manifest.version}.tgz -C profiles package\` gives the \`package/\`-rooted .tgz that`,
    '  registries serve; HAPI FHIR installs one from `PackageInstallationSpec.packageUrl` (in the JPA starter:',
    '  `hapi.fhir.implementationguides.<name>.packageUrl`). Not exercised here.',
    '',
    '## Changing the guide',
    '',
    '1. Edit the sources in `profiles/input/` (differential StructureDefinitions, CodeSystems, ValueSets,',
    '   SearchParameters, OperationDefinitions) and list new artifacts and codes in `profiles/CATALOG.md` (a test checks it).',
    '2. `npm run profiles:build` regenerates the snapshots and the ImplementationGuide in `profiles/generated/`',
    '   and the package folder `profiles/package/` (offline, fhir-snapshot-generator); `npm run profiles:docs`',
    '   regenerates these pages.',
    '3. Add a valid and an invalid example to `bundles/examples/` and the invalid one\'s exact issues to',
    '   `test/validation/examples.test.ts`. Tests fail when generated files drift from their sources.',
    '',
    'Profile authoring rules for @medplum/core (../shared/snapshots.md): give every extension slice a `.url`',
    'child in the differential, and raise the sliced element\'s min to the sum of its required slices.',
    '',
  ].join('\n');
  pages.set('index.md', index);
  return pages;
}

export function writeDocs(pages: Map<string, string>, outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const [name, content] of pages) {
    writeFileSync(join(outDir, name), content);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outIndex = process.argv.indexOf('--out');
  const outDir = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : join(root, 'docs', 'ig');
  const pages = buildDocs();
  writeDocs(pages, outDir);
  console.log(`profiles:docs wrote ${pages.size} pages to ${outDir}`);
}
