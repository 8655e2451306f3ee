/**
 * After a restart: is every acknowledged write there, and is every document wholly there or
 * not at all? Reads through the FHIR API only, as a client would.
 */
import { PAIR, UPDATED, send, type AcknowledgedDocument, type Api, type Ledger } from './workload.ts';

export interface Findings {
  /** Acknowledged writes looked for, and how many of them are missing or differ. */
  readonly acknowledged: number;
  readonly lost: string[];
  /** Unacknowledged documents found complete / absent / partly written (the last must be 0). */
  readonly inFlightComplete: number;
  readonly inFlightAbsent: number;
  readonly partial: string[];
  /** The pair written only together differs (a transaction half applied). */
  readonly torn: string[];
}

/** What one imported document leaves in its person's record: resource type → count. */
export type DocumentShape = Record<string, number>;

function typesOf(locations: readonly string[]): string[] {
  return [...new Set(locations.map((location) => location.split('/')[0]))].sort();
}

interface Entry {
  resource: { resourceType: string; id: string; meta: { versionId: string }; name?: { family?: string }[] };
}

/** The document's resources as `Patient/{id}/$everything` shows them, or undefined without its Patient. */
async function recordOf(api: Api, medicaidId: string, types: readonly string[]): Promise<Entry['resource'][] | undefined> {
  const found = await send(api, 'GET', `Patient?identifier=${encodeURIComponent(medicaidId)}`);
  if (found.status !== 200) throw new Error(`Patient search for ${medicaidId}: ${found.status}`);
  const patients = ((found.json.entry ?? []) as Entry[]).filter((e) => e.resource.resourceType === 'Patient');
  if (patients.length > 1) throw new Error(`${patients.length} Patients with Medicaid ID ${medicaidId}: a duplicate`);
  if (patients.length === 0) return undefined;
  const patient = `Patient/${patients[0].resource.id}`;
  const inRecord = types.filter((type) => type !== 'Contract');
  const everything = await send(api, 'GET', `${patient}/$everything?_count=1000&_type=${inRecord.join(',')}`);
  if (everything.status !== 200) throw new Error(`$everything for ${medicaidId}: ${everything.status} ${JSON.stringify(everything.json).slice(0, 400)}`);
  const resources = ((everything.json.entry ?? []) as Entry[]).map((e) => e.resource);
  // The plan's signatures (Contract) are outside the Patient compartment: found by subject.
  if (types.includes('Contract')) {
    const contracts = await send(api, 'GET', `Contract?subject=${patient}&_count=1000`);
    if (contracts.status !== 200) throw new Error(`Contracts of ${patient}: ${contracts.status}`);
    resources.push(...((contracts.json.entry ?? []) as Entry[]).map((e) => e.resource));
  }
  return resources;
}

function shapeOf(resources: readonly Entry['resource'][]): DocumentShape {
  const shape: DocumentShape = {};
  for (const r of resources) shape[r.resourceType] = (shape[r.resourceType] ?? 0) + 1;
  return shape;
}

const sameShape = (a: DocumentShape, b: DocumentShape): boolean => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** What a document left in its person's record: all of it, nothing, or a part (the shape found). */
export async function documentState(api: Api, medicaidId: string, reference: { shape: DocumentShape; types: string[] }): Promise<'whole' | 'absent' | DocumentShape> {
  const record = await recordOf(api, medicaidId, reference.types);
  if (!record) return 'absent';
  const shape = shapeOf(record);
  return sameShape(shape, reference.shape) ? 'whole' : shape;
}

/** The shape of a document imported before any kill: what "wholly there" means. */
export async function referenceShape(api: Api, doc: AcknowledgedDocument): Promise<{ shape: DocumentShape; types: string[] }> {
  const types = typesOf(doc.locations);
  const record = await recordOf(api, doc.medicaidId, types);
  if (!record) throw new Error(`the reference document ${doc.planId} is not there`);
  return { shape: shapeOf(record), types };
}

/** Every version of a Patient: versionId → the family name it holds (all pages). */
async function historyOf(api: Api, id: string): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  for (let page: string | undefined = `Patient/${id}/_history?_count=1000`; page; ) {
    const history = await send(api, 'GET', page);
    if (history.status !== 200) throw new Error(`history of Patient/${id}: ${history.status}`);
    for (const e of (history.json.entry ?? []) as Entry[]) if (e.resource) versions.set(e.resource.meta.versionId, e.resource.name?.[0]?.family ?? '');
    const next = ((history.json.link ?? []) as { relation: string; url: string }[]).find((l) => l.relation === 'next')?.url;
    page = next ? next.slice(api.url.length + 1) : undefined;
  }
  return versions;
}

/**
 * Checks the ledger's writes from index `since` on (documents, transactions, updates) and every
 * unacknowledged document; the pair's invariant is checked as it stands now.
 */
export async function verifyLedger(
  api: Api,
  ledger: Ledger,
  reference: { shape: DocumentShape; types: string[] },
  since: { documents: number; transactions: number; updates: number } = { documents: 0, transactions: 0, updates: 0 },
): Promise<Findings> {
  const lost: string[] = [];
  const partial: string[] = [];
  const torn: string[] = [];
  let acknowledged = 0;

  for (const doc of ledger.documents.slice(since.documents)) {
    acknowledged++;
    const record = await recordOf(api, doc.medicaidId, reference.types);
    if (!record) {
      lost.push(`document ${doc.planId}: its Patient is missing`);
      continue;
    }
    const current = new Map(record.map((r) => [`${r.resourceType}/${r.id}`, Number(r.meta.versionId)]));
    for (const location of doc.locations) {
      const [type, id, , version] = location.split('/');
      const now = current.get(`${type}/${id}`);
      if (now === undefined || now < Number(version)) lost.push(`document ${doc.planId}: ${location} (now ${now ?? 'missing'})`);
    }
  }

  let inFlightComplete = 0;
  let inFlightAbsent = 0;
  for (const doc of ledger.unacknowledgedDocuments) {
    const record = await recordOf(api, doc.medicaidId, reference.types);
    if (!record) inFlightAbsent++;
    else if (sameShape(shapeOf(record), reference.shape)) inFlightComplete++;
    else partial.push(`document ${doc.planId}: ${JSON.stringify(shapeOf(record))}, whole is ${JSON.stringify(reference.shape)}`);
  }

  const histories = new Map<string, Map<string, string>>();
  for (const id of [...PAIR, ...UPDATED]) histories.set(id, await historyOf(api, id));
  for (const t of ledger.transactions.slice(since.transactions)) {
    acknowledged++;
    for (const [id, version] of Object.entries(t.versions)) {
      if (histories.get(id)?.get(version) !== t.family) lost.push(`transaction ${t.family}: Patient/${id} version ${version} holds ${histories.get(id)?.get(version) ?? 'nothing'}`);
    }
  }
  for (const u of ledger.updates.slice(since.updates)) {
    acknowledged++;
    if (histories.get(u.id)?.get(u.versionId) !== u.family) lost.push(`update ${u.family}: Patient/${u.id} version ${u.versionId} holds ${histories.get(u.id)?.get(u.versionId) ?? 'nothing'}`);
  }
  // Every transaction writes both Patients of the pair: their histories are equally long and the
  // latest versions carry the same name.
  const [a, b] = PAIR.map((id) => histories.get(id) as Map<string, string>);
  const latest = (h: Map<string, string>) => h.get(String(h.size));
  if (a.size !== b.size || latest(a) !== latest(b)) torn.push(`${PAIR[0]} has ${a.size} versions (last ${latest(a)}), ${PAIR[1]} ${b.size} (last ${latest(b)})`);

  return { acknowledged, lost, inFlightComplete, inFlightAbsent, partial, torn };
}
