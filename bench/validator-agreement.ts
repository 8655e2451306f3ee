/**
 * Agreement with the HL7 Java reference validator (issue 21) on HL7's public validator test
 * cases (https://github.com/FHIR/fhir-test-cases, folder validator/): the R4 JSON cases that need
 * no extra package, no profile step, no supporting files and no terminology server. A case agrees
 * when kanplan and the Java validator's recorded outcome (validator/outcomes/java/...) both find
 * at least one error, or both find none.
 *
 * Usage: node bench/validator-agreement.ts /path/to/fhir-test-cases [--list] [--strict] [--defaults]
 * Prints the agreement figure and, with --list, every disagreement (docs/validation.md).
 *
 * A case that switches on a Java option kanplan has a counterpart for (`security-checks` →
 * SECURITY_CHECKS, `examples: false` → REFUSE_EXAMPLE_URLS) is run by kanplan with that setting
 * on too, as a deployment that wants the same check would; `--defaults` runs every case with
 * kanplan's default settings instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { loadConformance } from '../src/conformance/conformance.ts';
import { createResourceValidator, hasErrors } from '../src/validation/validator.ts';

interface TestCase {
  readonly name: string;
  readonly file: string;
  readonly version?: string;
  readonly module?: string;
  readonly java?: string;
  readonly packages?: unknown;
  readonly profile?: unknown;
  readonly supporting?: unknown;
  readonly profiles?: unknown;
  readonly logical?: unknown;
  readonly 'bundle-param'?: unknown;
  readonly 'use-test'?: boolean;
  readonly validateContains?: unknown;
  readonly [option: string]: unknown;
}

/**
 * Validator options a case turns on beyond the defaults (security checks, no example URLs,
 * reference resolution, IPS mode ...). Such cases are counted, and also reported apart.
 */
const NON_DEFAULT_OPTIONS = ['security-checks', 'noHtmlInMarkdown', 'examples', 'validateReference', 'ips', 'allowed-extension-domain', 'fetcher'];

/** Modules that need a terminology server, packages, profiles or a non-FHIR format. */
const OUT_OF_SCOPE = new Set(['tx', 'tx-advanced', 'profile', 'cda', 'cdshooks', 'shc', 'logical', 'json5', 'matchetype', 'package-versioning', 'dsig', 'measure', 'xver', 'api', 'versions', 'v2', 'scoring']);

const root = process.argv[2];
if (!root) {
  console.error('usage: node bench/validator-agreement.ts /path/to/fhir-test-cases [--list]');
  process.exit(2);
}
const list = process.argv.includes('--list');
// --strict: as with STRICT_EXTENSIONS=true (an extension nobody defines is an error).
const strictExtensions = process.argv.includes('--strict');
const manifest = JSON.parse(readFileSync(join(root, 'validator', 'manifest.json'), 'utf8')) as { 'test-cases': TestCase[] };
const cases = manifest['test-cases'].filter(
  (t) => (t.version === '4.0' || t.version === '4.0.1') && t.file.endsWith('.json') && !OUT_OF_SCOPE.has(t.module ?? '') && t.java &&
    !t.packages && !t.profile && !t.supporting && !t.profiles && !t.logical && !t['bundle-param'] && !t.validateContains && t['use-test'] !== false,
);
// --defaults: no case's options are mirrored onto kanplan's settings.
const mirrorOptions = !process.argv.includes('--defaults');
const conformance = loadConformance();
const validators = new Map<string, ReturnType<typeof createResourceValidator>>();
/** The validator with kanplan's counterparts of the case's Java options switched on. */
function validatorFor(t: TestCase): ReturnType<typeof createResourceValidator> {
  const securityChecks = mirrorOptions && t['security-checks'] === true;
  const refuseExampleUrls = mirrorOptions && t.examples === false;
  const key = `${securityChecks}|${refuseExampleUrls}`;
  let validator = validators.get(key);
  if (!validator) {
    validator = createResourceValidator(conformance, { strictExtensions, securityChecks, refuseExampleUrls });
    validators.set(key, validator);
  }
  return validator;
}
let agree = 0;
let total = 0;
let defaultAgree = 0;
let defaultTotal = 0;
const misses: string[] = [];
for (const t of cases) {
  let expected: OperationOutcome;
  let text: string;
  try {
    expected = JSON.parse(readFileSync(join(root, 'validator', 'outcomes', t.java as string), 'utf8')) as OperationOutcome;
    text = readFileSync(join(root, 'validator', t.file), 'utf8');
  } catch {
    continue; // outcome or file not in this checkout
  }
  total++;
  const defaults = !NON_DEFAULT_OPTIONS.some((o) => t[o] !== undefined);
  if (defaults) {
    defaultTotal++;
  }
  const javaInvalid = hasErrors(expected.issue ?? []);
  let issues: OperationOutcomeIssue[];
  try {
    issues = validatorFor(t).validate(JSON.parse(text) as Resource);
  } catch (err) {
    issues = err instanceof SyntaxError ? [{ severity: 'error', code: 'structure', details: { text: `JSON: ${err.message}` } }] : [{ severity: 'fatal', code: 'exception', details: { text: `crash: ${String(err)}` } }];
  }
  const ours = hasErrors(issues);
  if (ours === javaInvalid) {
    agree++;
    if (defaults) {
      defaultAgree++;
    }
  } else {
    const first = (javaInvalid ? expected.issue : issues)?.find((i) => i.severity === 'error' || i.severity === 'fatal');
    misses.push(`${t.name} (${t.module ?? '-'}${defaults ? '' : ', options'}): java ${javaInvalid ? 'invalid' : 'valid'}, kanplan ${ours ? 'invalid' : 'valid'} — ${first?.details?.text ?? first?.diagnostics ?? ''}`.slice(0, 300));
  }
}
console.log(`agreement with the HL7 Java validator: ${agree}/${total} (${((100 * agree) / Math.max(total, 1)).toFixed(1)}%)`);
console.log(`  of which run with the validator's default options: ${defaultAgree}/${defaultTotal} (${((100 * defaultAgree) / Math.max(defaultTotal, 1)).toFixed(1)}%)`);
const rejectedValid = misses.filter((m) => m.includes('java valid')).length;
console.log(`kanplan rejects ${rejectedValid} case(s) the Java validator accepts; accepts ${misses.length - rejectedValid} it rejects`);
if (list) {
  for (const m of misses) console.log(`- ${m}`);
}
