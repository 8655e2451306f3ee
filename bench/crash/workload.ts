/**
 * The writes a kill -9 interrupts: a stream of PCSP document imports, transactions that update
 * one pair of Patients together, and single updates of a few Patients, all at once. Every write
 * the server acknowledged (a 2xx answer received) goes into the ledger with what it wrote, so
 * that after the restart each one can be looked for; documents sent but not acknowledged are
 * kept too, since each must then be either wholly there or not at all.
 */
import { readFileSync } from 'node:fs';

export interface Api {
  readonly url: string;
  readonly token: string;
}

export interface AcknowledgedDocument {
  readonly planId: string;
  readonly medicaidId: string;
  /** `Type/id/_history/v` of every resource the import's transaction wrote. */
  readonly locations: readonly string[];
}

export interface Ledger {
  readonly documents: AcknowledgedDocument[];
  /** Sent, and the answer never came (or was not 2xx): all or nothing after the restart. */
  readonly unacknowledgedDocuments: { planId: string; medicaidId: string }[];
  /** A transaction's writes: both Patients of the pair, with the family name both were given. */
  readonly transactions: { family: string; versions: Record<string, string> }[];
  readonly updates: { id: string; versionId: string; family: string }[];
  /** Answers of 500 or above while the server was up: each one is a bug. */
  readonly serverErrors: string[];
  /** Other answers (409 retry, 412, 503) by status. */
  readonly otherAnswers: Record<string, number>;
  /** Failures of the driver itself (not a cut connection): the campaign's own bugs. */
  readonly driverErrors: string[];
}

export function emptyLedger(): Ledger {
  return { documents: [], unacknowledgedDocuments: [], transactions: [], updates: [], serverErrors: [], otherAnswers: {}, driverErrors: [] };
}

export const PAIR = ['crash-pair-a', 'crash-pair-b'] as const;
export const UPDATED = ['crash-upd-0', 'crash-upd-1', 'crash-upd-2', 'crash-upd-3'] as const;

const template = JSON.parse(readFileSync(new URL('../../bundles/documents/avery-example.pcsp.json', import.meta.url), 'utf8')) as {
  planId: string;
  person: { medicaidId: string };
};

/** `Type/id/_history/v` of a transaction-response entry's location (which may be absolute). */
export function versionLocation(location: string): string {
  return location.split('/').slice(-4).join('/');
}

/** The fictional Avery Example PCSP with a plan id and Medicaid ID of its own. */
export function documentFor(run: string, n: number): { planId: string; medicaidId: string; body: string } {
  const suffix = `${run}-${String(n).padStart(5, '0')}`;
  const planId = `PCSP-CRASH-${suffix}`;
  const medicaidId = `KS-TEST-C${suffix}`;
  return { planId, medicaidId, body: JSON.stringify({ ...template, planId, person: { ...template.person, medicaidId } }) };
}

/** A parsed answer: JSON bodies are read by the shapes FHIR gives them, so the type stays loose here. */
export interface Answer {
  readonly status: number;
  readonly json: any;
}

export async function send(api: Api, method: string, path: string, body?: string): Promise<Answer> {
  const request = () =>
    fetch(`${api.url}/${path}`, {
      method,
      headers: { authorization: `Bearer ${api.token}`, accept: 'application/fhir+json', ...(body ? { 'content-type': path.includes('$import-document') ? 'application/json' : 'application/fhir+json' } : {}) },
      body,
    });
  // A kept-alive connection the server closed as idle just as it was reused is reset before the
  // request is read (bench/load/dataset.ts): a read is sent again; a write's failure is the caller's.
  const response = await request().catch((err: Error) => {
    if (method === 'GET' && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET') return request();
    throw err;
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

/** Writes until `stop()`; each stream sends one request at a time. Resolves once all streams ended. */
export function startWorkload(api: Api, ledger: Ledger, run: string, counter: { n: number }): { stop: () => Promise<void> } {
  let stopped = false;
  const note = (what: string, status: number, json: unknown): void => {
    if (status >= 500) ledger.serverErrors.push(`${what}: ${status} ${JSON.stringify(json).slice(0, 300)}`);
    else ledger.otherAnswers[status] = (ledger.otherAnswers[status] ?? 0) + 1;
  };
  /** Runs `step` until stopped; a request the kill cut off (fetch rejects) ends the stream. */
  const stream = async (step: () => Promise<void>): Promise<void> => {
    while (!stopped) {
      try {
        await step();
      } catch (err) {
        // undici's "fetch failed": the connection was cut (the kill). Anything else is a bug here.
        if (!(err instanceof TypeError && err.message === 'fetch failed')) ledger.driverErrors.push(String((err as Error).stack ?? err));
        return;
      }
    }
  };

  const importDocument = async (): Promise<void> => {
    const doc = documentFor(run, counter.n++);
    const pending = { planId: doc.planId, medicaidId: doc.medicaidId };
    ledger.unacknowledgedDocuments.push(pending);
    const { status, json } = await send(api, 'POST', 'CarePlan/$import-document', doc.body);
    if (status === 201 || status === 200) {
      ledger.unacknowledgedDocuments.splice(ledger.unacknowledgedDocuments.indexOf(pending), 1);
      const bundle = json.parameter.find((p: { name: string }) => p.name === 'return').resource;
      ledger.documents.push({ ...pending, locations: bundle.entry.map((e: { response: { location: string } }) => versionLocation(e.response.location)) });
    } else note('import', status, json);
  };

  const updatePair = async (): Promise<void> => {
    const family = `Pair${counter.n++}`;
    const entry = (id: string) => ({ resource: { resourceType: 'Patient', id, name: [{ family }] }, request: { method: 'PUT', url: `Patient/${id}` } });
    // Half the transactions name the pair in the other order (the order that deadlocked before).
    const ids = counter.n % 2 === 0 ? [...PAIR] : [...PAIR].reverse();
    const { status, json } = await send(api, 'POST', '', JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: ids.map(entry) }));
    if (status === 200) {
      // Response entries follow the request's; an update's carries its version in the ETag.
      const versions: Record<string, string> = {};
      (json.entry as { response: { etag: string } }[]).forEach((e, i) => (versions[ids[i]] = /W\/"(\d+)"/.exec(e.response.etag)?.[1] ?? '?'));
      ledger.transactions.push({ family, versions });
    } else note('transaction', status, json);
  };

  const updateOne = async (): Promise<void> => {
    const id = UPDATED[counter.n % UPDATED.length];
    const family = `Upd${counter.n++}`;
    const { status, json } = await send(api, 'PUT', `Patient/${id}`, JSON.stringify({ resourceType: 'Patient', id, name: [{ family }] }));
    if (status === 200 || status === 201) ledger.updates.push({ id, versionId: json.meta.versionId, family });
    else note('update', status, json);
  };

  const streams = [importDocument, importDocument, updatePair, updatePair, updateOne, updateOne].map((step) => stream(step));
  return {
    async stop() {
      stopped = true;
      await Promise.all(streams);
    },
  };
}
