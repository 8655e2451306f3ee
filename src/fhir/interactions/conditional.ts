import { searchAccessOf } from '../access/caller-access.ts';
import { type FhirContext, withRepo } from '../context.ts';
import { badRequest, preconditionFailed } from '../../outcomes.ts';

/**
 * Resolves the criteria of a conditional interaction (create, update, patch, delete, or a
 * conditional reference in a transaction) to matching ids, inside the caller's transaction.
 *
 * Peers resolve the criteria outside the write transaction, so two concurrent conditional
 * creates can both find nothing and both create (medplum/medplum#10177). Here an advisory lock
 * keyed by the criteria serializes requests with the same criteria until commit.
 */

/** The lock name of conditional criteria: `Type?criteria`. */
export function lockKey(resourceType: string, criteria: string): string {
  return `${resourceType}?${criteria.replace(/^\?/, '')}`;
}

/**
 * Takes the advisory locks of many conditional criteria in one statement, in sorted order so
 * that two transactions locking overlapping criteria cannot deadlock. A transaction Bundle calls
 * this once for all its conditional entries instead of one round trip per entry.
 */
export async function lockConditionalCriteria(ctx: FhirContext, criteria: readonly { resourceType: string; criteria: string }[]): Promise<void> {
  await ctx.repo.lock(criteria.map((c) => lockKey(c.resourceType, c.criteria)));
}

/** Matches found ahead of time for criteria, keyed like the locks (`Type?criteria`). */
export type KnownMatches = ReadonlyMap<string, readonly string[]>;

/**
 * Locks many conditional criteria and resolves them together: what a transaction Bundle does
 * before planning its entries, so that N conditional entries cost two statements, not 2N.
 */
export async function lockAndMatchConditionalCriteria(ctx: FhirContext, criteria: readonly { resourceType: string; criteria: string }[], limit = 2): Promise<KnownMatches> {
  await lockConditionalCriteria(ctx, criteria);
  const unique = [...new Map(criteria.map((c) => [lockKey(c.resourceType, c.criteria), { resourceType: c.resourceType, query: c.criteria.replace(/^\?/, '') }])).entries()];
  if (unique.length === 0) {
    return new Map();
  }
  const matches = await ctx.search.findMatchingIdsOfMany(ctx.repo, unique.map(([, c]) => c), limit, await searchAccessOf(ctx, 'r'));
  return new Map(unique.map(([key], i) => [key, matches[i]]));
}

/** findConditionalMatches, answered from `known` when the criteria were resolved ahead. */
export async function conditionalMatches(ctx: FhirContext, known: KnownMatches, resourceType: string, criteria: string): Promise<readonly string[]> {
  return known.get(lockKey(resourceType, criteria.replace(/^\?/, ''))) ?? findConditionalMatches(ctx, resourceType, criteria);
}

export async function findConditionalMatches(
  ctx: FhirContext,
  resourceType: string,
  criteria: string,
  limit = 2,
): Promise<string[]> {
  const query = criteria.replace(/^\?/, '');
  if (query.trim() === '') {
    throw badRequest(`A conditional ${resourceType} interaction needs search criteria, e.g. ${resourceType}?identifier=system|value.`);
  }
  await ctx.repo.lock([lockKey(resourceType, query)]);
  // Matches are narrowed to what the caller may read: criteria never reveal, update or delete a
  // resource outside the grant (a write that then lands outside it is refused by the access rule).
  return ctx.search.findMatchingIds(ctx.repo, resourceType, query, limit, await searchAccessOf(ctx, 'r'));
}

/** Exactly one match or a 412 saying how many and what to do. */
export function singleMatch(matches: readonly string[], resourceType: string, criteria: string): string | undefined {
  if (matches.length > 1) {
    throw preconditionFailed(
      `The criteria ${resourceType}?${criteria.replace(/^\?/, '')} match more than one resource; make them selective enough to match at most one.`,
    );
  }
  return matches[0];
}

/**
 * Runs a conditional interaction: one transaction in which the criteria are resolved (0 or 1
 * match, else 412) and `fn` acts on the result with a context bound to that transaction.
 */
export async function withConditionalMatch<T>(
  ctx: FhirContext,
  resourceType: string,
  criteria: string,
  fn: (scoped: FhirContext, match: string | undefined) => Promise<T>,
): Promise<T> {
  return ctx.repo.transaction(async (repo) => {
    const scoped = withRepo(ctx, repo);
    return fn(scoped, singleMatch(await findConditionalMatches(scoped, resourceType, criteria), resourceType, criteria));
  });
}
