import type Client from 'fhirclient/lib/Client';

/** An OperationOutcome issue, as much of it as the app shows. */
export interface Issue {
  readonly severity?: string;
  readonly code?: string;
  readonly diagnostics?: string;
  readonly details?: { text?: string };
  readonly expression?: string[];
  readonly location?: string[];
}

/** A request the server refused: its status and the OperationOutcome's issues in words. */
export class RefusedError extends Error {
  constructor(
    readonly status: number,
    readonly issues: Issue[],
  ) {
    super(issues.map(issueText).join(' ') || `The server answered ${status}.`);
  }
}

export function issueText(issue: Issue): string {
  return issue.diagnostics ?? issue.details?.text ?? `Problem: ${issue.code ?? 'unknown'}`;
}

export function issuePlace(issue: Issue): string | undefined {
  return issue.expression?.[0] ?? issue.location?.[0];
}

export interface Bundle<T> {
  resourceType: 'Bundle';
  entry?: { resource?: T; search?: { mode?: string } }[];
}

/**
 * The FHIR API as the app uses it: plain REST on the server fhirclient launched against, with the
 * launch's bearer token (fhirclient owns the launch and the token; the app owns the requests, so
 * that refusals keep their status and OperationOutcome, and raw answers such as $render's HTML
 * come back as text).
 */
export class FhirApi {
  constructor(
    readonly client: Client,
    private readonly onSessionEnded: () => void,
  ) {}

  get baseUrl(): string {
    return this.client.state.serverUrl.replace(/\/+$/, '');
  }

  private async send(path: string, init: { method?: string; body?: string; contentType?: string; accept?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: init.accept ?? 'application/fhir+json' };
    const authorization = this.client.getAuthorizationHeader();
    if (authorization) headers.authorization = authorization;
    if (init.contentType) headers['content-type'] = init.contentType;
    const response = await fetch(`${this.baseUrl}/${path}`, { method: init.method ?? 'GET', headers, body: init.body });
    if (response.status === 401) this.onSessionEnded();
    if (!response.ok) {
      let issues: Issue[] = [];
      try {
        const outcome = (await response.json()) as { issue?: Issue[] };
        issues = outcome.issue ?? [];
      } catch {
        issues = [{ diagnostics: `The server answered ${response.status} ${response.statusText}.` }];
      }
      throw new RefusedError(response.status, issues);
    }
    return response;
  }

  async read<T>(path: string): Promise<T> {
    return (await (await this.send(path)).json()) as T;
  }

  async search<T>(path: string): Promise<T[]> {
    const bundle = await this.read<Bundle<T>>(path);
    return (bundle.entry ?? []).filter((e) => e.search?.mode !== 'include' && e.resource).map((e) => e.resource as T);
  }

  /** A search with its _include-d resources, keyed "Type/id". */
  async searchWithIncludes<T>(path: string): Promise<{ matches: T[]; included: Map<string, { resourceType: string; id?: string }> }> {
    const bundle = await this.read<Bundle<{ resourceType: string; id?: string }>>(path);
    const matches: T[] = [];
    const included = new Map<string, { resourceType: string; id?: string }>();
    for (const entry of bundle.entry ?? []) {
      if (!entry.resource) continue;
      if (entry.search?.mode === 'include') included.set(`${entry.resource.resourceType}/${entry.resource.id}`, entry.resource);
      else matches.push(entry.resource as T);
    }
    return { matches, included };
  }

  async text(path: string, accept: string): Promise<string> {
    return (await this.send(path, { accept })).text();
  }

  async write<T>(method: 'POST' | 'PUT', path: string, resource: unknown): Promise<T> {
    const response = await this.send(path, { method, body: JSON.stringify(resource), contentType: 'application/fhir+json' });
    return (await response.json()) as T;
  }

  async postRaw<T>(path: string, body: string, contentType: string): Promise<T> {
    return (await (await this.send(path, { method: 'POST', body, contentType })).json()) as T;
  }
}
