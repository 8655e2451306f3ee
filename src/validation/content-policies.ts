import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { RepresentationVisitor } from './json-representation.ts';

/**
 * Content policies a deployment may switch on, each the counterpart of an option of the HL7 Java
 * validator that is off by default there too (its `-security-checks` and "examples not allowed"
 * modes). They are not R4 rules: R4 allows both, so kanplan leaves them off by default as well.
 *  - SECURITY_CHECKS: a string that contains what looks like an HTML tag (`<script>`, `<b>`,
 *    `</p>`) is refused. Such text is harmless to FHIR but dangerous to a viewer that renders
 *    it unescaped (https://hl7.org/fhir/R4/security.html#narrative: "applications SHOULD
 *    sanitize ... string content").
 *  - REFUSE_EXAMPLE_URLS: a URL in a reserved example domain (example.org/.com/.net and the
 *    `.example` top-level domain, RFC 2606) is refused, in uri, url and canonical values and in
 *    references: in production data it is a test fixture that leaked in.
 */
export interface ContentPolicyOptions {
  readonly securityChecks: boolean;
  readonly refuseExampleUrls: boolean;
}

/** `<name ...>` or `</name>`: a letter right after `<` and a `>` before the next `<`. */
const HTML_TAG = /<\/?[A-Za-z][\w:-]*(\s[^<>]*)?\/?>/;
const EXAMPLE_HOST = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(?:[a-z0-9-]+\.)*(?:example\.(?:org|com|net)|[a-z0-9-]+\.example)(?::\d+)?(?:[/?#]|$)/i;
const URL_TYPES = new Set(['uri', 'url', 'canonical']);

function refuse(path: string, text: string, rule: string, code: OperationOutcomeIssue['code']): OperationOutcomeIssue {
  return { severity: 'error', code, details: { text: `${path}: ${text}` }, diagnostics: `rule ${rule} (docs/validation.md)`, expression: [path] };
}

/** The visitor that applies the switched-on policies during the JSON walk; undefined when none is on. */
export function contentPolicyVisitor(options: ContentPolicyOptions, issues: OperationOutcomeIssue[]): Pick<RepresentationVisitor, 'primitive'> | undefined {
  if (!options.securityChecks && !options.refuseExampleUrls) {
    return undefined;
  }
  return {
    primitive(value, type, path, elementPath) {
      if (typeof value !== 'string') {
        return;
      }
      if (options.securityChecks && type === 'string' && value.includes('<') && HTML_TAG.test(value)) {
        issues.push(refuse(path, 'the text contains what looks like an HTML tag, which is refused (SECURITY_CHECKS); write it without markup', 'security-html-in-string', 'security'));
      }
      if (options.refuseExampleUrls && (URL_TYPES.has(type) || elementPath === 'Reference.reference') && EXAMPLE_HOST.test(value)) {
        issues.push(refuse(path, `${value} is in a reserved example domain (RFC 2606), which is refused (REFUSE_EXAMPLE_URLS)`, 'example-url', 'value'));
      }
    },
  };
}
