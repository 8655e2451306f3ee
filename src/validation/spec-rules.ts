import { createHash } from 'node:crypto';
import { isResourceType } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { RepresentationVisitor } from './json-representation.ts';
import { checkCanonicalTarget, type CanonicalDefinitions } from './canonical-targets.ts';
import { checkDifferentialPaths } from './differential-paths.ts';
import { checkNarrativeXhtml } from './narrative-xhtml.ts';
import { isObject } from './pattern-matching.ts';
import { checkPeriodPrecision } from './period-precision.ts';

/**
 * R4 rules that are written in the specification's prose rather than as FHIRPath invariants, so
 * @medplum/core (which evaluates the invariants of the R4 definitions, bdl-1 ... bdl-12 among them)
 * does not check them. Each runs from the JSON walk (json-representation.ts), which knows the
 * type of every value:
 *  - `urn:uuid:` and `urn:oid:` syntax in every uri (https://hl7.org/fhir/R4/datatypes.html#uri);
 *  - absolute URIs where R4 requires them: canonical `url`s of conformance and knowledge
 *    resources, code systems in Coding and ValueSet.compose, Identifier.system;
 *  - the narrative's XHTML, txt-1 and txt-2 (narrative-xhtml.ts);
 *  - a canonical naming a definition of a type its element does not allow (canonical-targets.ts);
 *  - Attachment.size and Attachment.hash agreeing with Attachment.data (datatypes.html#Attachment);
 *  - Bundle: fullUrl absolute and matching the resource, duplicate resource identity, link
 *    relations that occur once, entry.request per method (https://hl7.org/fhir/R4/bundle.html).
 */

const UUID = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const OID = /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const URI_TYPES = new Set(['uri', 'url', 'canonical', 'uuid', 'oid']);

/** Elements whose value SHALL be an absolute URI (R4 element definitions and datatypes.html). */
const ABSOLUTE_REQUIRED = new Set([
  'Coding.system',
  'Identifier.system',
  'ValueSet.compose.include.system',
  'ValueSet.compose.exclude.system',
  'ValueSet.expansion.contains.system',
  'ConceptMap.group.source',
  'ConceptMap.group.target',
  'Bundle.entry.fullUrl',
]);

/** Link relations a Bundle carries at most once (https://hl7.org/fhir/R4/http.html#paging). */
const SINGLE_RELATIONS = new Set(['self', 'first', 'previous', 'prev', 'next', 'last']);

function error(path: string, text: string, rule: string, code: OperationOutcomeIssue['code'] = 'value'): OperationOutcomeIssue {
  return { severity: 'error', code, details: { text: `${path}: ${text}` }, diagnostics: `rule ${rule}`, expression: [path] };
}

/** A resource's canonical url: `CodeSystem.url`, `StructureDefinition.url` ... (not Attachment.url). */
function isCanonicalUrl(elementPath: string): boolean {
  const dot = elementPath.indexOf('.');
  return dot > 0 && elementPath.slice(dot) === '.url' && isResourceType(elementPath.slice(0, dot));
}

function checkUri(value: string, type: string, path: string, elementPath: string, issues: OperationOutcomeIssue[]): void {
  if (value.startsWith('urn:uuid:') && !UUID.test(value)) {
    issues.push(error(path, `${JSON.stringify(value)} is not a valid urn:uuid: (urn:uuid: and a UUID, RFC 4122)`, 'uri-urn-uuid'));
  } else if (value.startsWith('urn:oid:') && !OID.test(value)) {
    issues.push(error(path, `${JSON.stringify(value)} is not a valid urn:oid: (urn:oid: and dot-separated numbers)`, 'uri-urn-oid'));
  } else if ((ABSOLUTE_REQUIRED.has(elementPath) || (type === 'uri' && isCanonicalUrl(elementPath))) && !SCHEME.test(value)) {
    issues.push(error(path, `${JSON.stringify(value)} must be an absolute URI (a URL, urn:uuid: or urn:oid:), not a relative one`, 'uri-absolute'));
  }
}

function checkAttachment(attachment: Record<string, unknown>, path: string, issues: OperationOutcomeIssue[]): void {
  if (typeof attachment.data !== 'string' || (attachment.size === undefined && attachment.hash === undefined)) {
    return;
  }
  const bytes = Buffer.from(attachment.data, 'base64');
  if (typeof attachment.size === 'number' && attachment.size !== bytes.length) {
    issues.push(error(`${path}.size`, `size ${attachment.size} does not match data, which is ${bytes.length} bytes`, 'attachment-size'));
  }
  if (typeof attachment.hash === 'string') {
    const sha1 = createHash('sha1').update(bytes).digest('base64');
    if (attachment.hash !== sha1) {
      issues.push(error(`${path}.hash`, `hash does not match data: the base64 SHA-1 of data is ${sha1}`, 'attachment-hash'));
    }
  }
}

/** `Type/id` at the end of a RESTful fullUrl (optionally followed by /_history/n). */
function restIdentity(fullUrl: string): string | undefined {
  const m = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(fullUrl);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

function checkEntryRequest(entry: Record<string, unknown>, resource: Record<string, unknown> | undefined, path: string, issues: OperationOutcomeIssue[]): void {
  const request = entry.request;
  if (!isObject(request) || typeof request.method !== 'string') {
    return; // bdl-3 and Bundle.entry.request.method 1..1: the structure validator
  }
  const method = request.method;
  const url = typeof request.url === 'string' ? request.url : '';
  if ((method === 'POST' || method === 'PUT') && !resource) {
    issues.push(error(`${path}.request`, `a ${method} entry needs a resource`, 'bundle-request', 'required'));
  }
  if ((method === 'DELETE' || method === 'GET' || method === 'HEAD') && resource) {
    issues.push(error(`${path}.resource`, `a ${method} entry has no resource`, 'bundle-request', 'structure'));
  }
  if (method === 'PUT' && resource && typeof resource.resourceType === 'string') {
    const m = /^([A-Z][A-Za-z]+)(?:\/([^/?]+))?(\?.*)?$/.exec(url);
    if (!m || (m[2] === undefined && m[3] === undefined)) {
      issues.push(error(`${path}.request.url`, `a PUT entry's url is [type]/[id] or [type]?[search], not ${JSON.stringify(url)}`, 'bundle-request'));
    } else if (m[1] !== resource.resourceType || (m[2] !== undefined && resource.id !== undefined && m[2] !== resource.id)) {
      issues.push(error(`${path}.request.url`, `url ${url} does not match the entry's resource ${String(resource.resourceType)}/${String(resource.id ?? '')}`, 'bundle-request'));
    }
  }
}

/** Every `reference` string inside a value, with its path. */
function references(value: unknown, path: string, out: [string, string][]): [string, string][] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => references(v, `${path}[${i}]`, out));
  } else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reference' && typeof v === 'string') {
        out.push([v, `${path}.reference`]);
      } else if (typeof v === 'object' && v !== null) {
        references(v, `${path}.${key}`, out);
      }
    }
  }
  return out;
}

/**
 * A document is read on its own, so each reference in it must resolve to one entry
 * (https://hl7.org/fhir/R4/bundle.html#references): one that matches several (two versions of
 * the same resource, say) is ambiguous unless it names the version.
 */
function checkDocumentReferences(entries: readonly unknown[], path: string, issues: OperationOutcomeIssue[]): void {
  const count = new Map<string, number>();
  for (const entry of entries) {
    const fullUrl = isObject(entry) && typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
    const identity = fullUrl ? restIdentity(fullUrl) : undefined;
    if (identity) {
      count.set(identity, (count.get(identity) ?? 0) + 1);
    }
  }
  if (![...count.values()].some((n) => n > 1)) {
    return;
  }
  entries.forEach((entry, i) => {
    for (const [reference, at] of references(isObject(entry) ? entry.resource : undefined, `${path}.entry[${i}].resource`, [])) {
      if (reference.includes('/_history/')) {
        continue;
      }
      const identity = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(reference) ? reference : restIdentity(reference);
      if (identity && (count.get(identity) ?? 0) > 1) {
        issues.push(error(at, `reference ${reference} matches ${count.get(identity)} entries of this document; name the version (${identity}/_history/[vid])`, 'bundle-ambiguous-reference'));
      }
    }
  });
}

function checkBundle(bundle: Record<string, unknown>, path: string, issues: OperationOutcomeIssue[]): void {
  const type = typeof bundle.type === 'string' ? bundle.type : '';
  if (Array.isArray(bundle.link)) {
    const seen = new Set<string>();
    bundle.link.forEach((link, i) => {
      const relation = isObject(link) && typeof link.relation === 'string' ? link.relation : undefined;
      if (relation && SINGLE_RELATIONS.has(relation)) {
        if (seen.has(relation)) {
          issues.push(error(`${path}.link[${i}]`, `link relation '${relation}' occurs more than once`, 'bundle-link'));
        }
        seen.add(relation);
      }
    });
  }
  if (!Array.isArray(bundle.entry)) {
    return;
  }
  const identities = new Map<string, number>();
  const entries: unknown[] = bundle.entry;
  entries.forEach((entry, i) => {
    if (!isObject(entry)) {
      return;
    }
    const at = `${path}.entry[${i}]`;
    const resource = isObject(entry.resource) ? entry.resource : undefined;
    const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
    const identity = resource && typeof resource.resourceType === 'string' && typeof resource.id === 'string' ? `${resource.resourceType}/${resource.id}` : undefined;
    if (fullUrl && /^https?:/.test(fullUrl) && identity && type !== 'transaction' && type !== 'batch') {
      const rest = restIdentity(fullUrl);
      if (rest !== undefined && rest !== identity) {
        issues.push(error(`${at}.fullUrl`, `fullUrl ${fullUrl} does not match the resource ${identity}`, 'bundle-fullurl'));
      }
    }
    if (identity && type !== 'history') {
      const version = isObject(resource?.meta) && typeof resource.meta.versionId === 'string' ? resource.meta.versionId : '';
      const key = `${identity}|${version}`;
      const first = identities.get(key);
      const sameFullUrl = first !== undefined && isObject(entries[first]) && (entries[first] as Record<string, unknown>).fullUrl === fullUrl;
      // The same fullUrl twice is bdl-7, reported by the structure validator.
      if (first !== undefined && !sameFullUrl && type !== 'transaction' && type !== 'batch') {
        issues.push(error(`${at}.resource`, `${identity} is already entry ${first}; a resource occurs once in a Bundle`, 'bundle-duplicate', 'duplicate'));
      } else {
        identities.set(key, i);
      }
    }
    if (type === 'transaction' || type === 'batch') {
      checkEntryRequest(entry, resource, at, issues);
    }
    if (type === 'searchset' && resource && isObject(entry.search)) {
      // Search results are resources the server holds, so they have ids; an outcome entry is an
      // OperationOutcome (https://hl7.org/fhir/R4/bundle.html#searchset).
      const mode = entry.search.mode;
      if ((mode === 'match' || mode === 'include') && resource.id === undefined) {
        issues.push(error(`${at}.resource`, `a search result (search.mode ${mode}) has an id`, 'bundle-searchset', 'required'));
      } else if (mode === 'outcome' && resource.resourceType !== 'OperationOutcome') {
        issues.push(error(`${at}.resource`, `an entry with search.mode outcome is an OperationOutcome, not a ${String(resource.resourceType)}`, 'bundle-searchset', 'structure'));
      }
    }
  });
  if (type === 'document') {
    checkDocumentReferences(entries, path, issues);
  }
}

/**
 * The visitor that applies these rules during the JSON walk, collecting into `issues`; with
 * `definitions`, a canonical that names a held definition of the wrong type is refused too.
 */
export function specRuleVisitor(issues: OperationOutcomeIssue[], definitions?: CanonicalDefinitions): Pick<RepresentationVisitor, 'primitive' | 'complex'> {
  return {
    primitive(value, type, path, elementPath, targets) {
      if (typeof value === 'string' && URI_TYPES.has(type)) {
        checkUri(value, type, path, elementPath, issues);
        if (type === 'canonical' && definitions) {
          checkCanonicalTarget(value, targets, path, definitions, issues);
        }
      } else if (type === 'xhtml' && typeof value === 'string') {
        checkNarrativeXhtml(value, path, issues); // txt-1, txt-2
      }
    },
    complex(value, type, path) {
      if (type === 'QuestionnaireItem' && Array.isArray(value.enableWhen) && value.enableWhen.length > 1 && value.enableBehavior === undefined) {
        // que-12 as its text says ("more than one enableWhen"), as the HL7 validator applies it;
        // the expression published with R4 reads `> 2` (https://hl7.org/fhir/R4/questionnaire.html#invs).
        issues.push(error(`${path}.enableBehavior`, 'an item with more than one enableWhen needs enableBehavior (all or any)', 'invariant que-12', 'required'));
      } else if (type === 'StructureDefinition') {
        checkDifferentialPaths(value, path, issues);
      } else if (type === 'Period') {
        checkPeriodPrecision(value, path, issues);
      } else if (type === 'Attachment') {
        checkAttachment(value, path, issues);
      } else if (type === 'Bundle') {
        checkBundle(value, path, issues);
      }
    },
  };
}
