import type { Bundle } from '@medplum/fhirtypes';
import type { AccessContext } from '../auth/access.ts';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Repository } from '../store/repository.ts';
import type { ResourceValidator } from '../validation/validator.ts';
import type { FhirOperation } from './operations/operation.ts';

/** What a search is asked: see src/search/ for the meaning of each field. */
export interface SearchInput {
  readonly resourceTypes: readonly string[];
  readonly params: readonly (readonly [string, string])[];
  readonly compartment?: { readonly resourceType: string; readonly id: string };
  readonly baseUrl: string;
  readonly lenient: boolean;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
}

export interface SearchParameterSummary {
  readonly name: string;
  readonly type: string;
  readonly definition?: string;
  readonly documentation?: string;
}

/** The search engine as the REST layer sees it (implemented in src/search/). */
export interface SearchService {
  searchResources(repo: Repository, input: SearchInput): Promise<Bundle>;
  findMatchingIds(repo: Repository, resourceType: string, query: string, limit: number): Promise<string[]>;
  describeSearchParameters(resourceType: string): SearchParameterSummary[];
}

/** Everything an interaction needs; `repo` is bound to the SQL transaction of a bundle if any. */
export interface FhirContext {
  readonly repo: Repository;
  /** The caller and what their access token allows; checked by the router for every interaction. */
  readonly access: AccessContext;
  readonly config: Config;
  readonly validator: ResourceValidator;
  readonly search: SearchService;
  readonly operations: readonly FhirOperation[];
  readonly logger: Logger;
  /** Canonical URL → constrained resource type of every profile the server knows (supportedProfile). */
  readonly profiles: ReadonlyMap<string, string>;
}

export function withRepo(ctx: FhirContext, repo: Repository): FhirContext {
  return { ...ctx, repo };
}
