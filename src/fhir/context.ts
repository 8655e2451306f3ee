import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../auth/access.ts';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { CostlySearchSlots } from './search-limits.ts';
import type { Conformance } from '../conformance/conformance.ts';
import type { SearchParameterSummary } from '../conformance/search-parameters.ts';
import type { AccessPermission, EverythingQuery, ExportBatchQuery, EverythingRow, GrantReach, SearchAccess, SearchInput } from '../search/index.ts';
import type { SqlStatement } from '../store/database.ts';
import type { Repository, ResourceKey } from '../store/repository.ts';
import type { ResourceValidator } from '../validation/validator.ts';
import type { FhirOperation } from './operations/operation.ts';
import type { AuditTrail } from './audit/audit-log.ts';
import type { DocumentProvenance } from './writes/provenance.ts';
import type { WriteRule } from './writes/write-rule.ts';
import type { WriteConsequence } from './writes/write-consequence.ts';
import type { SubscriptionRegistry } from './subscriptions/subscription-registry.ts';

/** The search engine as the REST layer sees it (implemented in src/search/). */
export interface SearchService {
  searchResources(repo: Repository, input: SearchInput): Promise<Bundle>;
  /** Ids matching a conditional interaction's criteria; `access` narrows them to what the caller reaches. */
  findMatchingIds(repo: Repository, resourceType: string, query: string, limit: number, access?: SearchAccess): Promise<string[]>;
  /** findMatchingIds for many criteria, in as few statements as it can; results in input order. */
  findMatchingIdsOfMany(repo: Repository, criteria: readonly { resourceType: string; query: string }[], limit: number, access?: SearchAccess): Promise<string[][]>;
  /** The `Type/id` keys among `keys` the caller's access reaches (one query; no query when nothing is confined). */
  grantedResources(repo: Repository, keys: readonly ResourceKey[], access: SearchAccess, permission: AccessPermission): Promise<Set<string>>;
  /** Whether a resource (not yet stored: judged on its content) is reached by one of the grants; undefined when the criteria cannot be judged on content. */
  reachesResource(resource: Resource, reach: GrantReach): boolean | undefined;
  describeSearchParameters(resourceType: string): SearchParameterSummary[];
  /** One page of Patient $everything: the patients, their compartments and the directory resources these reference. */
  everythingPage(repo: Repository, query: EverythingQuery): Promise<EverythingRow[]>;
  /** One batch of a Bulk Data export: resources of one type as of a transaction point (search/export-batch.ts). */
  exportBatch(repo: Repository, query: ExportBatchQuery): Promise<{ id: string; content: string }[]>;
  /** The same batch as a statement (columns id, content), for an export part written inside the database. */
  exportBatchStatement(query: ExportBatchQuery): SqlStatement;
}

/** Tells this process's job runner (if it runs one) that a job was queued. */
export interface JobQueue {
  wake(): void;
}

/** Everything an interaction needs; `repo` is bound to the SQL transaction of a bundle if any. */
export interface FhirContext {
  readonly repo: Repository;
  /** The caller and what their access token allows; checked by the router for every interaction. */
  readonly access: AccessContext;
  readonly config: Config;
  /** Definitions, the Kansas package, search parameters and terminology, built once at start. */
  readonly conformance: Conformance;
  readonly validator: ResourceValidator;
  /** Checked on every create, update, patch and delete, with the previous and next version and the caller (src/fhir/writes/). */
  readonly writeRules: readonly WriteRule[];
  /** What the server writes because of a write, in its transaction (src/fhir/writes/write-consequence.ts). */
  readonly writeConsequences: readonly WriteConsequence[];
  readonly search: SearchService;
  readonly operations: readonly FhirOperation[];
  readonly logger: Logger;
  /** The background jobs of this database: where a Bulk Data kick-off wakes the runner. */
  readonly jobs?: JobQueue;
  /** The Subscriptions this process matches writes against (src/fhir/subscriptions/). */
  readonly subscriptions?: SubscriptionRegistry;
  /** Where the AuditEvent of every request goes (src/fhir/audit/); absent with AUDIT=off. */
  readonly audit?: AuditTrail;
  /**
   * Set while a document import runs: its one Provenance stands for every write of the import,
   * so the write path notes the versions instead of writing a Provenance per resource.
   */
  readonly documentProvenance?: DocumentProvenance;
  /** Canonical URL → constrained resource type of every profile the server knows (supportedProfile). */
  readonly profiles: ReadonlyMap<string, string>;
  /** This process's slots for costly searches (COSTLY_SEARCH_CONCURRENCY); absent: no limit. */
  readonly costlySearches?: CostlySearchSlots;
}

export function withRepo(ctx: FhirContext, repo: Repository): FhirContext {
  return { ...ctx, repo };
}
