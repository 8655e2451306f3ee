/**
 * Rewrites the placeholder ids of a transaction (https://hl7.org/fhir/R4/http.html#trules):
 * "the server SHALL replace all matching links in the bundle, whether they are found in the
 * resource ids, resource references, elements of type uri, url, oid, uuid, and <a href="" &
 * <img src="" in the narrative". Any string anywhere in the resource, extensions included, that
 * equals a placeholder is replaced; inside narrative `div`s, attribute values are.
 */
export function rewritePlaceholders<T>(value: T, replacements: ReadonlyMap<string, string>): T {
  if (replacements.size === 0) {
    return value;
  }
  return rewrite(value, replacements, undefined) as T;
}

function rewriteNarrative(div: string, replacements: ReadonlyMap<string, string>): string {
  return div.replace(/(\s(?:href|src)\s*=\s*)(["'])(.*?)\2/g, (whole, prefix: string, quote: string, target: string) => {
    const replacement = replacements.get(target);
    return replacement ? `${prefix}${quote}${replacement}${quote}` : whole;
  });
}

function rewrite(value: unknown, replacements: ReadonlyMap<string, string>, key: string | undefined): unknown {
  if (typeof value === 'string') {
    if (key === 'div') {
      return rewriteNarrative(value, replacements);
    }
    return replacements.get(value) ?? value;
  }
  if (Array.isArray(value)) {
    return value.map((item) => rewrite(item, replacements, key));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = rewrite(v, replacements, k);
    }
    return out;
  }
  return value;
}

/** Every `reference` string in a resource, with its FHIRPath-ish location (for error messages). */
export function collectReferences(value: unknown, path: string, out: { reference: string; path: string }[] = []): { reference: string; path: string }[] {
  if (Array.isArray(value)) {
    value.forEach((item, i) => collectReferences(item, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') {
        out.push({ reference: v, path: `${path}.reference` });
      } else {
        collectReferences(v, `${path}.${k}`, out);
      }
    }
  }
  return out;
}

/** `Patient?identifier=...`: a conditional reference (https://hl7.org/fhir/R4/http.html#trules). */
export function parseConditionalReference(reference: string): { resourceType: string; criteria: string } | undefined {
  const match = /^([A-Z][A-Za-z]+)\?(.+)$/s.exec(reference);
  return match ? { resourceType: match[1], criteria: match[2] } : undefined;
}
