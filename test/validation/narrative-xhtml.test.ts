import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { checkNarrativeXhtml } from '../../src/validation/narrative-xhtml.ts';

/** txt-1 and txt-2 (https://hl7.org/fhir/R4/narrative.html#xhtml), which @medplum/core does not evaluate. */

const NS = 'xmlns="http://www.w3.org/1999/xhtml"';
const findings = (div: string): string[] => {
  const issues: OperationOutcomeIssue[] = [];
  checkNarrativeXhtml(div, 'Patient.text.div', issues);
  return issues.map((i) => `${i.diagnostics?.split(' ')[1]}: ${i.details?.text?.replace('Patient.text.div: ', '')}`);
};

describe('narrative XHTML (txt-1, txt-2)', () => {
  it('accepts basic formatting, tables, links, images, comments, entities and a prefixed XHTML namespace', () => {
    expect(findings(`<div ${NS}><h1>Plan</h1><p>A &amp; B&#160;<b>bold</b> <a href="https://example.org">link</a><br/></p></div>`)).toEqual([]);
    expect(findings(`<div ${NS}><!-- note --><table border="1"><tr><td rowspan="2" style="color:red">1</td></tr></table></div>`)).toEqual([]);
    expect(findings(`<div ${NS}><img src="#a" alt="chart"/></div>`)).toEqual([]);
    expect(findings(`<h:div xmlns:h="http://www.w3.org/1999/xhtml"><h:p>text</h:p></h:div>`)).toEqual([]);
    expect(findings(`\n  <div ${NS}>\n some text\n </div>\n`)).toEqual([]);
  });

  it('refuses scripts, forms, objects and event attributes (txt-1)', () => {
    expect(findings(`<div ${NS}>text<script>alert(1)</script></div>`)).toEqual(['txt-1: the narrative XHTML: element <script> is not allowed (only basic HTML formatting, links, images and tables)']);
    expect(findings(`<div ${NS}><p onclick="x()">text</p></div>`)).toEqual(['txt-1: the narrative XHTML: attribute onclick is not allowed on <p>']);
    expect(findings(`<div ${NS}><object data="x">text</object></div>`)).toHaveLength(2);
    expect(findings(`<div ${NS}><p>text<ul><li>a</li></ul></p></div>`)).toEqual(['txt-1: the narrative XHTML: block element <ul> is not allowed inside a paragraph']);
  });

  it('refuses a root that is not an XHTML div, markup that is not well-formed and a DOCTYPE (txt-1)', () => {
    expect(findings('<div><p>text</p></div>')).toEqual(['txt-1: the narrative XHTML: the root div needs the XHTML namespace (xmlns="http://www.w3.org/1999/xhtml")']);
    expect(findings(`<p ${NS}>text</p>`)).toEqual(['txt-1: the narrative XHTML: the root element is <p>; it must be a <div>']);
    expect(findings(`<div ${NS}><p>text</b></div>`)).toEqual(['txt-1: the narrative XHTML: it is not well-formed XHTML: </b> closes <p>']);
    expect(findings(`<div ${NS}><p>text</p>`)).toEqual(['txt-1: the narrative XHTML: it is not well-formed XHTML: <div> is not closed']);
    expect(findings(`<div ${NS}>1 < 2</div>`)[0]).toContain("a '<' at offset");
    expect(findings(`<div ${NS}>a</div><div ${NS}>b</div>`)).toEqual(['txt-1: the narrative XHTML: it has more than one root element; wrap them in one <div>']);
    expect(findings(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><div ${NS}>&e;</div>`)[0]).toContain('DOCTYPE');
    expect(findings('plain text')).toEqual(['txt-1: the narrative XHTML: text outside the root div', 'txt-1: the narrative XHTML: it has no root <div> element']);
  });

  it('refuses a narrative with no text and no image (txt-2)', () => {
    expect(findings(`<div ${NS}>  <p> </p></div>`)).toEqual(['txt-2: the narrative has no content: give it some text (or an image)']);
    expect(findings(`<div ${NS}/>`)).toEqual(['txt-2: the narrative has no content: give it some text (or an image)']);
  });
});
