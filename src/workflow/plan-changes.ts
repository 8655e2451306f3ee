import type { Resource } from '@medplum/fhirtypes';
import { system } from './kansas-workflow.ts';

/**
 * What changed between two versions of a person's plan, in words a care coordinator reads
 * (issue 16 "Change in needs or status": added/removed/changed goals, services, needs). Plan items
 * are the resources a document's items became, named by their `ks-plan-item` identifier
 * `<planId>/<kind>/<itemId>` (docs/documents/); only needs, goals, services and risks count.
 */
export type PlanItemKind = 'need' | 'goal' | 'service' | 'risk';

const TRACKED: Readonly<Record<string, PlanItemKind>> = { need: 'need', goal: 'goal', service: 'service', 'natural-support': 'service', risk: 'risk' };

export interface PlanItem {
  readonly planId: string;
  readonly kind: PlanItemKind;
  readonly itemId: string;
}

export interface PlanItemChange extends PlanItem {
  readonly change: 'added' | 'removed' | 'changed';
  readonly before?: string;
  readonly after?: string;
  /** For a change: the elements that differ. */
  readonly elements?: readonly string[];
}

export function planItemOf(resource: Resource | undefined): PlanItem | undefined {
  const identifiers = (resource as { identifier?: { system?: string; value?: string }[] } | undefined)?.identifier ?? [];
  const value = identifiers.find((id) => id.system === system.planItem)?.value;
  const match = value ? /^(.+)\/([a-z-]+)\/([^/]+)$/.exec(value) : null;
  const kind = match ? TRACKED[match[2] as string] : undefined;
  return match && kind ? { planId: match[1] as string, kind, itemId: match[3] as string } : undefined;
}

interface Texts {
  description?: { text?: string } | string;
  code?: { text?: string; coding?: { display?: string }[] };
  prediction?: { outcome?: { text?: string } }[];
  note?: { text?: string }[];
  mitigation?: string;
}

/** The words of an item: its description, code text or display, risk outcome, first note. */
export function itemText(resource: Resource): string {
  const r = resource as Resource & Texts;
  const description = typeof r.description === 'string' ? r.description : r.description?.text;
  return description ?? r.code?.text ?? r.code?.coding?.[0]?.display ?? r.prediction?.[0]?.outcome?.text ?? r.note?.[0]?.text ?? `${resource.resourceType}/${resource.id ?? ''}`;
}

function content(resource: Resource): string {
  const { meta: _meta, ...rest } = resource;
  return JSON.stringify(rest);
}

/**
 * The status an item is left in when a new plan version drops it (the import keeps the resource and
 * ends it): a need resolved or inactive, a goal cancelled, a service revoked, anything entered in error.
 */
function isEnded(resource: Resource): boolean {
  const r = resource as Resource & { status?: string; lifecycleStatus?: string; clinicalStatus?: { coding?: { code?: string }[] } };
  const clinical = r.clinicalStatus?.coding?.[0]?.code;
  return (
    ['revoked', 'entered-in-error', 'cancelled'].includes(r.status ?? '') ||
    ['cancelled', 'entered-in-error', 'rejected'].includes(r.lifecycleStatus ?? '') ||
    ['inactive', 'resolved'].includes(clinical ?? '')
  );
}

/** The top-level elements that differ, for a change whose words stayed the same. */
function changedElements(previous: Resource, next: Resource): string[] {
  const a = previous as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((key) => key !== 'meta' && key !== 'text' && JSON.stringify(a[key]) !== JSON.stringify(b[key])).sort();
}

/** The change one write of a plan item makes, or undefined when it is no plan item or nothing changed. */
export function itemChange(previous: Resource | undefined, next: Resource | undefined): PlanItemChange | undefined {
  const item = planItemOf(next ?? previous);
  if (!item) return undefined;
  if (!previous && next) return { ...item, change: 'added', after: itemText(next) };
  if (previous && (!next || (isEnded(next) && !isEnded(previous)))) return { ...item, change: 'removed', before: itemText(previous) };
  if (previous && next && isEnded(previous) && !isEnded(next)) return { ...item, change: 'added', after: itemText(next) };
  if (previous && next && content(previous) !== content(next)) {
    return { ...item, change: 'changed', before: itemText(previous), after: itemText(next), elements: changedElements(previous, next) };
  }
  return undefined;
}

const ORDER: readonly PlanItemKind[] = ['need', 'goal', 'service', 'risk'];

/** One line per change, needs first, then goals, services, risks, each by item id. */
export function changeLines(changes: readonly PlanItemChange[]): string[] {
  const sorted = [...changes].sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || a.itemId.localeCompare(b.itemId));
  return sorted.map((c) => {
    switch (c.change) {
      case 'added':
        return `Added ${c.kind} ${c.itemId}: ${c.after}`;
      case 'removed':
        return `Removed ${c.kind} ${c.itemId}: ${c.before}`;
      case 'changed':
        return c.before === c.after ? `Changed ${c.kind} ${c.itemId}: ${c.after} (${c.elements?.join(', ') || 'details'} changed)` : `Changed ${c.kind} ${c.itemId}: "${c.before}" → "${c.after}"`;
    }
  });
}
