import { readFileSync } from 'node:fs';

/**
 * Fictional members for the load benchmark: each is the Avery Example PCSP, BSP and ISP from bundles/documents with its own plan ids and Medicaid ID, so a member is
 * ~25-40 resources loaded through the server's own `$import-document` path.
 */
const examples = ['pcsp', 'bsp', 'isp'].map((type) => ({
  type,
  text: readFileSync(new URL(`../../bundles/documents/avery-example.${type}.json`, import.meta.url), 'utf8'),
}));

export function medicaidIdOf(member: number): string {
  return `KS-TEST-L${String(member).padStart(7, '0')}`;
}

/** The documents of one member, PCSP first (BSP and ISP refer to it). */
export function memberDocuments(member: number): { type: string; body: string }[] {
  const n = String(member).padStart(7, '0');
  // Every member gets all three: the example ISP is based on the BSP.
  return examples.map(({ type, text }) => ({
      type,
      body: text
        .replaceAll('KS-TEST-0000001', medicaidIdOf(member))
        .replaceAll('PCSP-TEST-AVERY-2026', `PCSP-LOAD-${n}`)
        .replaceAll('BSP-TEST-AVERY-2026', `BSP-LOAD-${n}`)
        .replaceAll('ISP-TEST-AVERY-2026', `ISP-LOAD-${n}`),
    }));
}

/** Ids the scenarios pick from at random, read back from the loaded server. */
export interface DatasetIds {
  readonly patients: string[];
  readonly carePlans: string[];
  readonly owners: string[];
  readonly medicaidIds: string[];
}

/** Loads members through $import-document, `workers` members at a time (each member's documents in order). */
export async function loadDataset(baseUrl: string, token: string, members: number, onProgress?: (done: number) => void, workers = 4): Promise<void> {
  let next = 0;
  let done = 0;
  await Promise.all(Array.from({ length: Math.min(workers, members) }, async () => {
    for (let member = next++; member < members; member = next++) {
      await loadMember(baseUrl, token, member);
      onProgress?.(++done);
    }
  }));
}

/**
 * A POST on a kept-alive connection the server closed as idle just as it was reused is reset
 * before the server reads it (seen loading the embedded database on a machine under heavy load,
 * where the server's thread can stay busy past its 5 s keep-alive): nothing was imported, so it is
 * sent again on a new connection.
 */
export async function postDocument(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (err) {
      const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code !== 'ECONNRESET' || attempt >= 3) throw err;
    }
  }
}

/**
 * A 409 that says a concurrent request wrote the same resources rolled this one back whole and
 * asks for a retry (seen on a heavily loaded machine, where the member's previous document's
 * follow-up work can still be running): sent again, as the server asks, up to 3 times.
 */
const CONCURRENT_WRITE = 'A concurrent request wrote the same resources';

async function loadMember(baseUrl: string, token: string, member: number): Promise<void> {
  for (const document of memberDocuments(member)) {
    const send = (): Promise<Response> =>
      postDocument(`${baseUrl}/CarePlan/$import-document`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: document.body,
      });
    let response = await send();
    for (let retry = 1; retry <= 3 && response.status === 409; retry++) {
      const text = await response.text();
      if (!text.includes(CONCURRENT_WRITE)) {
        throw new Error(`import of member ${member} ${document.type} failed: 409 ${text.slice(0, 500)}`);
      }
      response = await send();
    }
    if (!response.ok) {
      throw new Error(`import of member ${member} ${document.type} failed: ${response.status} ${(await response.text()).slice(0, 500)}`);
    }
    await response.arrayBuffer();
  }
}

async function idsOf(baseUrl: string, token: string, query: string): Promise<string[]> {
  const ids: string[] = [];
  let url: string | undefined = `${baseUrl}/${query}`;
  while (url && ids.length < 20_000) {
    const bundle = (await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      entry?: { resource: { id: string } }[];
      link?: { relation: string; url: string }[];
    };
    ids.push(...(bundle.entry ?? []).map((e) => e.resource.id));
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return ids;
}

export async function datasetIds(baseUrl: string, token: string, members: number): Promise<DatasetIds> {
  return {
    patients: await idsOf(baseUrl, token, 'Patient?_elements=id&_count=1000'),
    carePlans: await idsOf(baseUrl, token, 'CarePlan?_elements=id&_count=1000'),
    owners: await idsOf(baseUrl, token, 'PractitionerRole?_elements=id&_count=1000'),
    medicaidIds: Array.from({ length: members }, (_, i) => medicaidIdOf(i)),
  };
}

/** Every resource the server holds, for loading the peer with exactly the same data. */
export async function exportAll(baseUrl: string, token: string): Promise<object[]> {
  const resources: object[] = [];
  let url: string | undefined = `${baseUrl}/?_count=1000`;
  while (url) {
    const bundle = (await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      entry?: { resource: object }[];
      link?: { relation: string; url: string }[];
    };
    resources.push(...(bundle.entry ?? []).map((e) => e.resource));
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return resources;
}
