import type { Resource } from '@medplum/fhirtypes';
import type { SqlParam } from './database.ts';
import type { VersionMethod } from './repository.ts';

/** A version about to be written, as write participants see it. */
export interface VersionToWrite {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  readonly lastUpdated: string;
  readonly method: VersionMethod;
  /** The new content as stored (meta set); absent for a delete marker. */
  readonly resource?: Resource & { id: string };
  /** The id had a `resource` row before this write: an update, a delete or a re-create. */
  readonly replaces: boolean;
}

/**
 * Something that must change in the same SQL transaction as a write: the search index today;
 * Provenance, the subscription outbox and audit next. The store sends every version a
 * transaction writes in one statement just before the transaction's next statement or its COMMIT
 * (docs/architecture.md, "One statement per transaction's writes"); each participant adds its
 * data-modifying statements to that statement as CTEs, so they commit or roll back with the
 * versions and cost no round trip of their own. Participants are given to the repository when it
 * is built; the repository knows none of them by name.
 */
export interface WriteParticipant {
  readonly name: string;
  /**
   * Data-modifying statements (`INSERT …`, `DELETE …`) for `versions`. Every value goes through
   * `bind`, which returns its placeholder (`$n`); the statement text should depend on which kinds
   * of rows are written, not on how many, so it is prepared once.
   */
  statementsFor(versions: readonly VersionToWrite[], bind: (value: SqlParam) => string): readonly string[];
  /**
   * A value stored on each written `resource` row's `index_hash` (the search index's
   * fingerprint, which `kanplan reindex` compares). At most one participant stamps rows.
   */
  readonly indexHash?: string;
}
