import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Compartment } from './compartments.ts';
import type { IncludeDirective } from './include.ts';
import type { SummaryMode } from './summary.ts';

/** What a search is asked (the REST layer builds it from the request; https://hl7.org/fhir/R4/search.html). */
export interface SearchInput {
  /** One type for a type search; several, or none for all, for a system search. */
  readonly resourceTypes: readonly string[];
  /** Raw name/value pairs from the query string or POST form body, in order. */
  readonly params: readonly (readonly [string, string])[];
  readonly compartment?: Compartment;
  readonly baseUrl: string;
  /** Prefer: handling=lenient: ignore bad parameters and report them in an outcome entry. */
  readonly lenient: boolean;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  /** What the caller's access token confines the search to; absent: nothing is confined (the hot path). */
  readonly access?: SearchAccess;
}

/** A SMART permission letter (https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html). */
export type AccessPermission = 'c' | 'r' | 'u' | 'd' | 's';

/**
 * Where one of the caller's grants reaches (src/auth/access-policy.ts decides it): resources in
 * one of `patients`' Patient compartments when set, matching the v2 `criteria` when set.
 */
export interface GrantReach {
  readonly patients?: readonly string[];
  readonly criteria?: string;
}

/** A type's access: every resource, none, or those any of the grants reach. */
export type TypeAccess = 'all' | 'none' | readonly GrantReach[];

/**
 * The caller's access as search narrows by it: the matches (permission `s`), the hops of chains
 * and `_has` (`s`) and what `_include`/`_revinclude` add (`r`) are each limited to what it allows.
 */
export interface SearchAccess {
  forType(resourceType: string, permission: AccessPermission): TypeAccess;
}

/** A search's parameters once checked: the filters, and how the result is paged and shaped. */
export interface ParsedSearch {
  readonly filters: (readonly [string, string])[];
  readonly sortText?: string;
  readonly count: number;
  readonly total: 'none' | 'estimate' | 'accurate' | 'default';
  readonly summary: SummaryMode;
  readonly elements?: string[];
  readonly includes: IncludeDirective[];
  readonly cursorText?: string;
  readonly contained: ContainedSearch;
  /** Parameters as applied, for the self link. */
  readonly applied: [string, string][];
  readonly issues: OperationOutcomeIssue[];
  /** Whether combination indexes may drive the query (set by planSearch). */
  readonly useCombinations: boolean;
}

/**
 * `_contained` and `_containedType` (https://hl7.org/fhir/R4/search.html#contained): whether the
 * search matches top-level resources (`false`, the default), contained ones (`true`) or both, and
 * whether a contained match is returned as its container or as the contained resource itself.
 */
export interface ContainedSearch {
  readonly match: 'false' | 'true' | 'both';
  readonly returns: 'container' | 'contained';
}

