import { randomUUID } from 'node:crypto';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { badRequest, gone, notFound, preconditionFailed } from '../../outcomes.ts';
import type { StoredVersion } from '../../store/repository.ts';
import { type FhirContext, withRepo } from '../context.ts';
import { parseVersionTag } from '../versioning.ts';
import { isProvenance, isTraced, organizationOf, provenanceOf, writeAgents, type WrittenVersion } from './provenance.ts';
import { checkWriteRules, type ProposedWrite, type WriteInteraction } from './write-rule.ts';
import { followWrite, followed } from './write-consequence.ts';

/** What a client asks to write, after the interaction resolved which resource (conditional criteria, transaction ids). */
export type WriteIntent =
  /** `id`: set only where a transaction pre-assigned one for a new resource; else a new UUID. */
  | { readonly interaction: 'create'; readonly resource: Resource; readonly id?: string }
  | { readonly interaction: 'update'; readonly resource: Resource & { id: string }; readonly ifMatch?: string }
  | {
      readonly interaction: 'patch';
      readonly resourceType: string;
      readonly id: string;
      /** The patched resource from the current one (which it must not change the type or id of). */
      readonly patch: (current: Resource) => Resource;
      readonly ifMatch?: string;
    }
  | { readonly interaction: 'delete'; readonly resourceType: string; readonly id: string; readonly ifMatch?: string };

export type WriteResult =
  | {
      readonly kind: 'written';
      readonly resource: Resource;
      /** The id had no current version: a create, an update-as-create or a re-create after delete. */
      readonly created: boolean;
      readonly notes: readonly OperationOutcomeIssue[];
    }
  /** An update or patch that changed nothing: the current version is kept (as HAPI and Medplum do). */
  | { readonly kind: 'unchanged'; readonly resource: Resource; readonly notes: readonly OperationOutcomeIssue[] }
  | { readonly kind: 'deleted'; readonly versionId: number }
  | { readonly kind: 'already-deleted' };

/** Drops the server-managed meta elements a client may not set (versionId, lastUpdated). */
export function withoutServerMeta<T extends Resource>(resource: T): T {
  if (!resource.meta) {
    return resource;
  }
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...meta } = resource.meta;
  return { ...resource, meta: Object.keys(meta).length ? meta : undefined };
}

/** Equal apart from the server-managed meta.versionId and meta.lastUpdated. */
function sameContent(a: Resource, b: Resource): boolean {
  return JSON.stringify(withoutServerMeta(a)) === JSON.stringify(withoutServerMeta(b));
}

/** If-Match against the version read under lock (https://hl7.org/fhir/R4/http.html#concurrency). */
function assertIfMatch(ifMatch: string | undefined, resourceType: string, id: string, previous: StoredVersion | undefined): void {
  if (ifMatch === undefined) {
    return;
  }
  const expected = parseVersionTag(ifMatch);
  if (previous?.versionId === expected) {
    return;
  }
  throw preconditionFailed(
    previous === undefined
      ? `If-Match expected version ${expected} of ${resourceType}/${id}, but it does not exist.`
      : `If-Match expected version ${expected} of ${resourceType}/${id}, but the current version is ${previous.versionId}; read it again and retry with If-Match: W/"${previous.versionId}".`,
    'If-Match',
  );
}

function liveResource(version: StoredVersion | undefined): Resource | undefined {
  return version && !version.deleted ? version.resource : undefined;
}

/** The patched resource, or 404/410 when there is nothing current to patch. */
function patched(intent: Extract<WriteIntent, { interaction: 'patch' }>, previous: StoredVersion | undefined): Resource & { id: string } {
  const { resourceType, id } = intent;
  if (!previous) {
    throw notFound(`${resourceType}/${id} does not exist.`);
  }
  const current = liveResource(previous);
  if (!current) {
    throw gone(`${resourceType}/${id} was deleted (version ${previous.versionId}, ${previous.lastUpdated}).`);
  }
  const next = intent.patch(current);
  if (next.resourceType !== resourceType || next.id !== id) {
    throw badRequest('A patch may not change resourceType or id.', `${resourceType}.id`);
  }
  return withoutServerMeta(next) as Resource & { id: string };
}

/**
 * The one write path: every create, update, patch and delete — plain, conditional, in a batch or
 * transaction, and from `$import-document` — comes here. In one SQL transaction it reads the
 * previous version under lock (a create under a new id has none to read, so it stays one
 * statement), checks If-Match, runs the write rules with the previous version, the next one and
 * the caller, then writes; the write participants (the search index) join the same statement,
 * and the write consequences (server-created Tasks) write in the same transaction.
 * docs/architecture.md, "The life of one write".
 */
export async function writeResource(ctx: FhirContext, intent: WriteIntent): Promise<WriteResult> {
  if (intent.interaction === 'create') {
    const { id: _ignored, ...body } = withoutServerMeta(intent.resource);
    const next = (await withDocumentAgents(ctx, { ...body, id: intent.id ?? randomUUID() })) as Resource & { id: string };
    const create = async (scoped: FhirContext): Promise<WriteResult> => {
      const checked = await checkWriteRules(scoped, { interaction: 'create', resourceType: next.resourceType, id: next.id, next, caller: scoped.access });
      // The resource and its Provenance in one statement (alone, a create stays one round trip).
      const provenance = await traceWrite(scoped, { resourceType: next.resourceType, id: next.id, versionId: 1 }, 'create');
      const written = (checked.next ?? next) as Resource & { id: string };
      const [stored] = await scoped.repo.writeNewVersions(provenance ? [written, provenance] : [written]);
      // Alone, only a create some consequence concerns is followed (it opened the transaction);
      // within a transaction (a bundle, an import) every consequence sees it: a new PCSP is what
      // its items, written after it, are collected under.
      if (scoped.repo.inTransaction) await followWrite(scoped, { interaction: 'create', resourceType: next.resourceType, id: next.id, next: stored });
      return { kind: 'written', resource: stored, created: true, notes: checked.notes };
    };
    // A create is one statement on its own, unless a write consequence follows its type.
    return followed(ctx, next) ? ctx.repo.transaction((repo) => create(withRepo(ctx, repo))) : create(ctx);
  }
  const resourceType = intent.interaction === 'update' ? intent.resource.resourceType : intent.resourceType;
  const id = intent.interaction === 'update' ? intent.resource.id : intent.id;
  return ctx.repo.transaction(async (repo) => {
    const scoped = withRepo(ctx, repo);
    // Locked until commit: a concurrent write of the same resource waits, so none is lost.
    const previous = await repo.readCurrent(resourceType, id, true);
    assertIfMatch(intent.ifMatch, resourceType, id, previous);
    const proposed: ProposedWrite = {
      interaction: intent.interaction,
      resourceType,
      id,
      previous: liveResource(previous),
      next:
        intent.interaction === 'delete'
          ? undefined
          : intent.interaction === 'patch'
            ? patched(intent, previous)
            : await withDocumentAgents(scoped, withoutServerMeta(intent.resource)),
      caller: ctx.access,
    };
    if (!proposed.next) {
      if (!previous) throw notFound(`${resourceType}/${id} does not exist; nothing was deleted.`);
      if (previous.deleted) return { kind: 'already-deleted' };
      await checkWriteRules(scoped, proposed);
      const deleted = await repo.writeDeletion(previous);
      await queueProvenance(scoped, deleted, 'delete');
      await followWrite(scoped, { interaction: 'delete', resourceType, id, previous: proposed.previous });
      return { kind: 'deleted', versionId: deleted.versionId };
    }
    const { notes, next } = await checkWriteRules(scoped, proposed);
    const write = { ...proposed, next: next as Resource };
    // A no-op update keeps the current version, as HAPI and Medplum do: re-sending a resource
    // (document re-import, sync jobs) must not flood history and change feeds.
    if (write.previous && sameContent(write.previous, write.next)) {
      return { kind: 'unchanged', resource: write.previous, notes };
    }
    const method = intent.interaction === 'patch' ? 'PATCH' : 'PUT';
    const stored = await repo.writeVersion(write.next as Resource & { id: string }, previous, method);
    // An update-as-create (or a re-create after delete) is a CREATE.
    await queueProvenance(scoped, { resourceType, id, versionId: Number(stored.meta?.versionId) }, write.previous ? intent.interaction : 'create');
    await followWrite(scoped, { interaction: intent.interaction, resourceType, id, previous: write.previous, next: stored });
    return { kind: 'written', resource: stored, created: !write.previous, notes };
  });
}

/**
 * The Provenance a write gets (provenance.ts), or none: Provenance and AuditEvent are not traced,
 * and inside a document import the version is noted for the import's own Provenance instead.
 */
async function traceWrite(ctx: FhirContext, version: WrittenVersion, interaction: WriteInteraction): Promise<(Resource & { id: string }) | undefined> {
  if (!isTraced(version.resourceType)) return undefined;
  if (ctx.documentProvenance) {
    ctx.documentProvenance.note(version);
    return undefined;
  }
  return provenanceOf(version, interaction, writeAgents(ctx.access, await organizationOf(ctx)));
}

/** Queues the Provenance of a version written in this transaction: it goes in the same statement. */
async function queueProvenance(ctx: FhirContext, version: WrittenVersion, interaction: WriteInteraction): Promise<void> {
  const provenance = await traceWrite(ctx, version, interaction);
  if (provenance) await ctx.repo.writeNewVersions([provenance]);
}

/** A document import's own Provenance, completed with the versions it wrote and the caller (provenance.ts). */
async function withDocumentAgents<T extends Resource | undefined>(ctx: FhirContext, resource: T): Promise<T> {
  if (!ctx.documentProvenance || !isProvenance(resource)) return resource;
  return ctx.documentProvenance.complete(resource, writeAgents(ctx.access, await organizationOf(ctx), 'enterer')) as T;
}
