import { parseDocumentText } from './check-document.ts';
import type { DocumentType } from './plan-document.ts';

/**
 * The order plan documents import in: every PCSP before the BSPs and ISPs that refer to it (a
 * BSP is partOf its PCSP, an ISP basedOn its PCSP and BSP, and the reference must resolve to a
 * stored plan), and anything that is not a recognisable plan document last.
 */
const importRank: Record<DocumentType, number> = { pcsp: 0, bsp: 1, isp: 2 };

export function importRankOf(type: DocumentType | undefined): number {
  return type === undefined ? 3 : (importRank[type] ?? 3);
}

/** The `documentType` a document's text declares, or undefined when it is unreadable or declares none. */
export function declaredDocumentType(text: string, mediaType: string): DocumentType | undefined {
  try {
    return (parseDocumentText(text, mediaType) as { documentType?: DocumentType } | null)?.documentType;
  } catch {
    return undefined;
  }
}

/** The items in import order; items of one rank keep their order (Array.prototype.sort is stable). */
export function orderForImport<T>(items: readonly T[], typeOf: (item: T) => DocumentType | undefined): T[] {
  return items
    .map((item) => ({ item, rank: importRankOf(typeOf(item)) }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ item }) => item);
}
