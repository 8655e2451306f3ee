import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backupPlanNarrative, escapeXml, planNarrative, plainDate, xhtml } from '../../src/documents/narrative.ts';
import { listExampleDocuments } from '../../src/documents/example-documents.ts';
import type { PcspDocument } from '../../src/documents/pcsp/pcsp-types.ts';
import { renderPlanHtml } from '../../src/documents/render.ts';
import { checkNarrativeXhtml } from '../../src/validation/narrative-xhtml.ts';
import { pcspDocument } from './generated-documents.ts';
import { readExample } from './examples.ts';

/**
 * Well-formedness of the XHTML subset the narrative uses: tags balance, attributes quoted, no
 * raw '<' or '&' in text. (No XML parser is a dependency; this checks exactly what we emit.)
 */
function isWellFormed(xml: string): boolean {
  const stack: string[] = [];
  const token = /<(\/?)([a-z][a-z0-9]*)((?:\s+[a-z:]+="[^"<&]*")*)\s*(\/?)>|&(?:amp|lt|gt|quot|#39);|([<&])/g;
  let match: RegExpExecArray | null;
  while ((match = token.exec(xml)) !== null) {
    const [, closing, name, , selfClosing, stray] = match;
    if (stray) {
      return false;
    }
    if (!name || selfClosing) {
      continue;
    }
    if (closing) {
      if (stack.pop() !== name) {
        return false;
      }
    } else {
      stack.push(name);
    }
  }
  return stack.length === 0;
}

/**
 * FHIR txt-1/txt-2 (https://hl7.org/fhir/R4/narrative.html#xhtml): basic formatting elements only,
 * no scripts, forms or event attributes, and some text. Our narrative needs only these.
 */
function meetsNarrativeRules(div: string): boolean {
  const allowed = new Set(['div', 'p', 'b', 'i', 'em', 'strong', 'ul', 'ol', 'li', 'br', 'span', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'caption', 'h1', 'h2', 'h3']);
  const elements = [...div.matchAll(/<([a-z][a-z0-9]*)((?:\s+[a-z:]+="[^"]*")*)\s*\/?>/g)];
  const attributesOk = elements.every(([, name, attributes], index) => (index === 0 && name === 'div' ? attributes === ' xmlns="http://www.w3.org/1999/xhtml"' : attributes === ''));
  const text = div.replace(/<[^>]+>/g, '').trim();
  return elements.every(([, name]) => allowed.has(name!)) && attributesOk && text.length > 0;
}

describe('CarePlan.text narrative', () => {
  it('escapes document text', () => {
    expect(escapeXml(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
    expect(xhtml`<p>${'<b>'}</p>`.html).toBe('<p>&lt;b&gt;</p>');
  });

  it.each(listExampleDocuments().map((e) => [e.file, e.document] as const))('%s: one XHTML div, well-formed', (_file, doc) => {
    const div = planNarrative(doc);
    expect(div.startsWith('<div xmlns="http://www.w3.org/1999/xhtml">')).toBe(true);
    expect(div.endsWith('</div>')).toBe(true);
    expect(isWellFormed(div)).toBe(true);
    expect(meetsNarrativeRules(div)).toBe(true);
    const validation: OperationOutcomeIssue[] = [];
    checkNarrativeXhtml(div, 'CarePlan.text.div', validation);
    expect(validation).toEqual([]);
    if (doc.documentType === 'pcsp') {
      const backup = backupPlanNarrative(doc.backupPlan);
      expect(isWellFormed(backup) && meetsNarrativeRules(backup)).toBe(true);
    }
  });

  it('says in plain words what the plan is, for how long and what it provides', () => {
    const div = planNarrative(readExample('avery-example.pcsp.json'));
    expect(div).toContain('Person-Centered Support Plan for Avery Example');
    expect(div).toContain('from October 1, 2026 to September 30, 2027');
    expect(div).toContain('Day Supports: 40 15-minute units each week, from Example Day Program (fictional)');
  });

  it('stays well-formed for any generated document (text full of < > & quotes)', () => {
    fc.assert(
      fc.property(pcspDocument, (doc) => {
        expect(isWellFormed(planNarrative(doc))).toBe(true);
        expect(meetsNarrativeRules(planNarrative(doc))).toBe(true);
        const validation: OperationOutcomeIssue[] = [];
        checkNarrativeXhtml(planNarrative(doc), 'CarePlan.text.div', validation);
        expect(validation).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('the narrative rule check itself rejects scripts, attributes and empty text', () => {
    expect(meetsNarrativeRules('<div xmlns="http://www.w3.org/1999/xhtml"><p>ok</p></div>')).toBe(true);
    expect(meetsNarrativeRules('<div xmlns="http://www.w3.org/1999/xhtml"><script>x</script></div>')).toBe(false);
    expect(meetsNarrativeRules('<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x">ok</p></div>')).toBe(false);
    expect(meetsNarrativeRules('<div xmlns="http://www.w3.org/1999/xhtml"><p> </p></div>')).toBe(false);
  });

  it('the checker itself rejects broken markup', () => {
    expect(isWellFormed('<div><p>a</div>')).toBe(false);
    expect(isWellFormed('<div>a < b</div>')).toBe(false);
    expect(isWellFormed('<div>a &amp; b</div>')).toBe(true);
  });

  it('writes dates the way people read them', () => {
    expect(plainDate('2027-03-31')).toBe('March 31, 2027');
  });
});

describe('printable HTML render', () => {
  const html = renderPlanHtml(readExample('avery-example.pcsp.json'));

  it('is an HTML document with a language, a title and one h1', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html).toContain('<title>Person-Centered Support Plan: Avery Example</title>');
    expect(html.match(/<h1>/g)).toHaveLength(1);
    expect(html).toContain('@media print');
  });

  it('shows every part of the plan the person and guardian need', () => {
    for (const heading of ['About me', 'How I want to live', 'My goals', 'Paid services', 'Staying safe', 'Limits on my rights', 'Agreement and signatures', 'Who gets a copy']) {
      expect(html).toContain(`<h2>${heading}</h2>`);
    }
    expect(html).toContain('Sharp knives are kept in a locked drawer');
    expect(html).toContain('<th scope="col">Provider</th>');
  });

  it('escapes document text and contains no script', () => {
    const doc = readExample('avery-example.pcsp.json') as PcspDocument;
    const hostile = renderPlanHtml({ ...doc, backupPlan: '<script>alert(1)</script>' });
    expect(hostile).not.toContain('<script>');
    expect(hostile).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it.each(listExampleDocuments().map((e) => [e.file, e.document] as const))('%s renders with balanced markup', (_file, doc) => {
    const page = renderPlanHtml(doc);
    const body = page.slice(page.indexOf('<main'), page.indexOf('</main>') + '</main>'.length);
    expect(isWellFormed(body)).toBe(true);
  });

  it.each(listExampleDocuments().map((e) => [e.file, e.document] as const))('%s: language, one h1, no skipped heading level, captioned tables with scoped headers', (_file, doc) => {
    // WCAG 2.1: 3.1.1 language of page, 1.3.1 info and relationships (headings, table headers).
    const page = renderPlanHtml(doc);
    expect(page).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    const levels = [...page.matchAll(/<h([1-6])>/g)].map((m) => Number(m[1]));
    expect(levels[0]).toBe(1);
    expect(levels.filter((l) => l === 1)).toHaveLength(1);
    expect(levels.every((level, i) => i === 0 || level <= levels[i - 1]! + 1)).toBe(true);
    const tables = page.match(/<table>/g) ?? [];
    expect(page.match(/<table><caption>[^<]+<\/caption>/g) ?? []).toHaveLength(tables.length);
    expect(page.match(/<th>/g)).toBeNull();
    expect(page.match(/<th scope="(col|row)">/g)?.length ?? 0).toBe(page.match(/<th\b/g)?.length ?? 0);
    expect(page).not.toMatch(/<script|\son[a-z]+=/i);
  });

  it('renders the BSP restrictive intervention with its committee approval and consent', () => {
    const bsp = renderPlanHtml(readExample('avery-example.bsp.json'));
    expect(bsp).toContain('Approved by</dt><dd>Example Behavioral Management Committee (fictional) on September 25, 2026');
    expect(bsp).toContain('Must be reviewed by</dt><dd>March 31, 2027');
  });
});
