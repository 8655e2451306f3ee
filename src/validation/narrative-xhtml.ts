import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * The XHTML of a narrative (`Narrative.div`), https://hl7.org/fhir/R4/narrative.html#xhtml:
 *  - txt-1: only the basic HTML formatting elements and attributes (no script, form, object,
 *    iframe, event attributes ...), in the XHTML namespace, a `div` at the root;
 *  - txt-2: some non-whitespace content (text or an image).
 * R4 writes both invariants as `htmlChecks()`, which @medplum/core evaluates as always true, so
 * they are checked here. The element and attribute lists are those the HL7 Java validator applies
 * by default (XhtmlValidator): narratives reach browsers (the plan viewer, EHRs), so a script
 * in one is refused, as the reference validator refuses it.
 */

const XHTML_NS = 'http://www.w3.org/1999/xhtml';

const ELEMENTS = new Set([
  'p', 'br', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'a', 'span', 'b', 'em', 'i', 'strong', 'small', 'big', 'tt', 'dfn', 'q',
  'var', 'abbr', 'acronym', 'cite', 'blockquote', 'hr', 'address', 'bdo', 'kbd', 'sub', 'sup', 'ul', 'ol', 'li', 'dl', 'dt', 'dd',
  'pre', 'table', 'caption', 'colgroup', 'col', 'thead', 'tr', 'tfoot', 'tbody', 'th', 'td', 'code', 'samp', 'img', 'map', 'area',
]);

/** Attributes allowed on any element. */
const ATTRIBUTES = new Set([
  'title', 'style', 'class', 'id', 'lang', 'xml:lang', 'dir', 'accesskey', 'tabindex',
  'span', 'width', 'align', 'valign', 'char', 'charoff', 'abbr', 'axis', 'headers', 'scope', 'rowspan', 'colspan',
]);

/** Attributes allowed on one element only (element.attribute). */
const ELEMENT_ATTRIBUTES = new Set([
  'a.href', 'a.name', 'a.charset', 'a.type', 'a.hreflang', 'a.rel', 'a.rev', 'a.shape', 'a.coords',
  'img.src', 'img.border', 'img.alt', 'img.longdesc', 'img.height', 'img.width', 'img.usemap', 'img.ismap',
  'div.xmlns', 'blockquote.cite', 'q.cite', 'map.name', 'area.shape', 'area.coords', 'area.href', 'area.nohref', 'area.alt',
  'table.summary', 'table.width', 'table.border', 'table.frame', 'table.rules', 'table.cellspacing', 'table.cellpadding',
  'pre.space', 'td.nowrap',
]);

/** Block elements, which a paragraph cannot contain (HTML 4.01 §9.3.1). */
const BLOCKS = new Set(['div', 'blockquote', 'table', 'ol', 'ul', 'p']);

/** A comment, CDATA, a processing instruction, a DOCTYPE, or a start / end / empty tag. */
const MARKUP = /<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

interface OpenElement {
  readonly qualified: string;
  readonly name: string;
  readonly inParagraph: boolean;
}

function invariant(path: string, key: 'txt-1' | 'txt-2', text: string): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: 'invariant',
    details: { text: `${path}: ${text}` },
    diagnostics: `invariant ${key} (https://hl7.org/fhir/R4/narrative.html#xhtml)`,
    expression: [path],
  };
}

/** Checks one `Narrative.div` value; `path` is where it is ('Patient.text.div'). */
export function checkNarrativeXhtml(div: string, path: string, issues: OperationOutcomeIssue[]): void {
  const problems = new Set<string>();
  const open: OpenElement[] = [];
  const xhtmlPrefixes = new Set<string>();
  let roots = 0;
  let content = false;
  let text = 0;
  let at = 0;
  const textUntil = (end: number): void => {
    const chunk = div.slice(text, end);
    if (chunk.trim() !== '') {
      if (open.length === 0) {
        problems.add('text outside the root div');
      }
      content = true;
    }
  };
  while ((at = div.indexOf('<', at)) >= 0) {
    textUntil(at);
    MARKUP.lastIndex = at;
    const m = MARKUP.exec(div);
    if (!m) {
      problems.add(`it is not well-formed XHTML: a '<' at offset ${at} starts no element, comment or CDATA (write &lt; for a literal '<')`);
      break;
    }
    at = MARKUP.lastIndex;
    text = at;
    if (m[1] !== undefined && m[1].trim() !== '') {
      content = true; // CDATA text
    }
    if (m[0].startsWith('<!DOCTYPE')) {
      problems.add('a DOCTYPE is not allowed in a narrative');
    }
    const qualified = m[3];
    if (qualified === undefined) {
      continue;
    }
    // A prefixed name (<x:p> with xmlns:x="http://www.w3.org/1999/xhtml") is the XHTML element p.
    // Most elements have no attributes: matchAll copies its regular expression on each call.
    const attributes = m[4] === '' ? [] : [...m[4].matchAll(ATTRIBUTE)];
    for (const a of attributes) {
      if (a[1].startsWith('xmlns:') && (a[2] ?? a[3]) === XHTML_NS) {
        xhtmlPrefixes.add(a[1].slice(6));
      }
    }
    const colon = qualified.indexOf(':');
    const name = colon > 0 && xhtmlPrefixes.has(qualified.slice(0, colon)) ? qualified.slice(colon + 1) : qualified;
    if (m[2] === '/') {
      const top = open.pop();
      if (top?.qualified !== qualified) {
        problems.add(`it is not well-formed XHTML: </${qualified}> closes ${top ? `<${top.qualified}>` : 'nothing'}`);
        break;
      }
      continue;
    }
    if (open.length === 0) {
      roots++;
      if (roots === 1 && name !== 'div') {
        problems.add(`the root element is <${name}>; it must be a <div>`);
      }
    }
    const parent = open.at(-1);
    const inParagraph = parent !== undefined && (parent.inParagraph || parent.name === 'p');
    if (!ELEMENTS.has(name)) {
      problems.add(`element <${name}> is not allowed (only basic HTML formatting, links, images and tables)`);
    }
    if (inParagraph && BLOCKS.has(name)) {
      problems.add(`block element <${name}> is not allowed inside a paragraph`);
    }
    if (name === 'img') {
      content = true;
    }
    let namespace: string | undefined = name !== qualified ? XHTML_NS : undefined;
    for (const a of attributes) {
      const attribute = a[1];
      if (attribute === 'xmlns') {
        namespace = a[2] ?? a[3];
      } else if (!attribute.startsWith('xmlns') && !ATTRIBUTES.has(attribute) && !ELEMENT_ATTRIBUTES.has(`${name}.${attribute}`)) {
        problems.add(`attribute ${attribute} is not allowed on <${name}>`);
      }
    }
    if (open.length === 0 ? namespace !== XHTML_NS : namespace !== undefined && namespace !== XHTML_NS) {
      problems.add(`the ${open.length === 0 ? 'root div needs' : `element <${name}> is not in`} the XHTML namespace (xmlns="${XHTML_NS}")`);
    }
    if (m[5] !== '/') {
      open.push({ qualified, name, inParagraph });
    }
  }
  if (at < 0) {
    textUntil(div.length);
  }
  if (open.length > 0 && ![...problems].some((p) => p.includes('well-formed'))) {
    problems.add(`it is not well-formed XHTML: <${open.at(-1)?.qualified}> is not closed`);
  }
  if (roots === 0) {
    problems.add('it has no root <div> element');
  } else if (roots > 1) {
    problems.add('it has more than one root element; wrap them in one <div>');
  }
  for (const problem of problems) {
    issues.push(invariant(path, 'txt-1', `the narrative XHTML: ${problem}`));
  }
  if (roots > 0 && !content) {
    issues.push(invariant(path, 'txt-2', 'the narrative has no content: give it some text (or an image)'));
  }
}
