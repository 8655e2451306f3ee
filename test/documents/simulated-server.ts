import type { Bundle, CarePlan, Patient, Reference, Resource } from '@medplum/fhirtypes';
import { identifierSystem } from '../../src/documents/canonical.ts';
import type { PlanStore, TransactionFailure } from '../../src/documents/import-flow.ts';
import { identifiersOf } from '../../src/documents/mapping/plan-references.ts';

/**
 * Just enough of a FHIR server to test the mappers without one: transaction processing with
 * conditional update on identifier, urn:uuid fullUrl and conditional-reference rewriting
 * (https://hl7.org/fhir/R4/http.html#trules). Versions count real changes only.
 */
export class SimulatedServer {
  readonly store = new Map<string, Resource>();
  #nextId = 1;

  resources(): Resource[] {
    return [...this.store.values()];
  }

  findByIdentifier(resourceType: string, system: string, value: string): Resource[] {
    return this.resources().filter(
      (r) => r.resourceType === resourceType && identifiersOf(r).some((i) => i.system === system && i.value === value),
    );
  }

  #resolveSearch(url: string): string | undefined {
    const [type, query] = url.split('?') as [string, string];
    const token = new URLSearchParams(query).get('identifier') ?? '';
    const bar = token.indexOf('|');
    const matches = this.findByIdentifier(type, token.slice(0, bar), token.slice(bar + 1));
    if (matches.length > 1) {
      throw new Error(`412: ${url} matches ${matches.length}`);
    }
    return matches[0] ? `${type}/${matches[0].id}` : undefined;
  }

  /** Returns, per entry, "created" | "updated" | "unchanged". */
  transaction(bundle: Bundle): { outcomes: string[]; locations: string[] } {
    const targets = new Map<string, string>();
    const planned = (bundle.entry ?? []).map((entry) => {
      const url = entry.request?.url ?? '';
      const existing = entry.request?.method === 'POST' ? undefined : url.includes('?') ? this.#resolveSearch(url) : url;
      const target = existing ?? `${entry.resource?.resourceType}/s${this.#nextId++}`;
      if (entry.fullUrl) {
        targets.set(entry.fullUrl, target);
      }
      return { entry, target };
    });
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) {
        return value.map(rewrite);
      }
      if (value && typeof value === 'object') {
        return Object.fromEntries(
          Object.entries(value).map(([k, v]) => {
            if (k === 'reference' && typeof v === 'string') {
              const mapped = targets.get(v) ?? (v.includes('?') ? this.#resolveSearch(v) : undefined);
              if (v.includes('?') && !mapped) {
                throw new Error(`400: conditional reference ${v} matches nothing`);
              }
              return [k, mapped ?? v];
            }
            return [k, rewrite(v)];
          }),
        );
      }
      return value;
    };
    const outcomes: string[] = [];
    for (const { entry, target } of planned) {
      const [, id] = target.split('/') as [string, string];
      const body = rewrite({ ...entry.resource, id }) as Resource;
      const previous = this.store.get(target);
      const { meta: _prevMeta, ...previousBody } = (previous ?? {}) as Resource;
      const { meta: bodyMeta, ...bodyWithoutMeta } = body;
      if (previous && JSON.stringify(previousBody) === JSON.stringify(bodyWithoutMeta)) {
        outcomes.push('unchanged');
        continue;
      }
      const version = previous ? Number(previous.meta?.versionId ?? '1') + 1 : 1;
      this.store.set(target, { ...body, meta: { ...bodyMeta, versionId: String(version) } } as Resource);
      outcomes.push(previous ? 'updated' : 'created');
    }
    return { outcomes, locations: planned.map((p) => p.target) };
  }
}

/** PlanStore over the simulated server: the import flow without a database. */
export function storeOf(server: SimulatedServer, failWith?: TransactionFailure): PlanStore & { transactions: Bundle[] } {
  const transactions: Bundle[] = [];
  return {
    transactions,
    async findPlan(planId) {
      return server.findByIdentifier('CarePlan', identifierSystem.planId, planId)[0] as CarePlan | undefined;
    },
    async findPatient(medicaidId) {
      return server.findByIdentifier('Patient', identifierSystem.medicaidId, medicaidId)[0] as Patient | undefined;
    },
    async read(reference: Reference) {
      return server.store.get(reference.reference ?? '') as Resource | undefined;
    },
    async transaction(bundle) {
      transactions.push(bundle);
      if (failWith) {
        throw failWith;
      }
      const { outcomes, locations } = server.transaction(bundle);
      return {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: outcomes.map((o, i) => ({ response: { status: o === 'created' ? '201 Created' : '200 OK', location: locations[i] } })),
      };
    },
  };
}

