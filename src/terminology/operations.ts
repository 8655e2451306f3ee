import type {
  CodeableConcept,
  Coding,
  OperationOutcome,
  Parameters,
  ParametersParameter,
  ValueSet,
} from '@medplum/fhirtypes';
import { TerminologyError, type TerminologyService } from '../conformance/terminology-service.ts';

/**
 * Terminology operations on local content, as pure functions over Parameters:
 *  - ValueSet/$expand        https://hl7.org/fhir/R4/valueset-operation-expand.html
 *  - ValueSet/$validate-code https://hl7.org/fhir/R4/valueset-operation-validate-code.html
 *  - CodeSystem/$lookup      https://hl7.org/fhir/R4/codesystem-operation-lookup.html
 * GET query parameters arrive as valueString parameters (src/fhir/operations/operation.ts); the
 * helpers below read a parameter whatever its value[x] type.
 */

export interface TerminologyResult<T> {
  readonly status: number;
  readonly resource: T | OperationOutcome;
}

function failure(status: number, code: 'invalid' | 'not-found' | 'too-costly' | 'not-supported', text: string): TerminologyResult<never> {
  return { status, resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text, details: { text } }] } };
}

function param(parameters: Parameters | undefined, name: string): ParametersParameter | undefined {
  return parameters?.parameter?.find((p) => p.name === name);
}

function stringParam(parameters: Parameters | undefined, name: string): string | undefined {
  const p = param(parameters, name);
  if (!p) {
    return undefined;
  }
  for (const key of ['valueString', 'valueUri', 'valueCode', 'valueCanonical', 'valueUrl', 'valueId'] as const) {
    const v = p[key];
    if (typeof v === 'string') {
      return v;
    }
  }
  if (typeof p.valueInteger === 'number') {
    return String(p.valueInteger);
  }
  return undefined;
}

function integerParam(parameters: Parameters | undefined, name: string): number | undefined | 'invalid' {
  const raw = stringParam(parameters, name);
  if (raw === undefined) {
    return undefined;
  }
  return /^\d+$/.test(raw) ? Number(raw) : 'invalid';
}

function errorResult(err: unknown): TerminologyResult<never> {
  if (err instanceof TerminologyError) {
    return failure(err.code === 'not-found' ? 404 : 422, err.code, err.message);
  }
  throw err;
}

/**
 * `$expand`. `valueSetUrl` comes from the instance ([base]/ValueSet/[id]/$expand) or the `url`
 * parameter. Supports filter, offset, count.
 */
export function expandValueSet(
  terminology: TerminologyService,
  parameters: Parameters | undefined,
  instanceUrl?: string,
): TerminologyResult<ValueSet> {
  const url = instanceUrl ?? stringParam(parameters, 'url');
  if (!url) {
    return failure(400, 'invalid', '$expand needs a value set: invoke it on a ValueSet instance or give the "url" parameter');
  }
  const offset = integerParam(parameters, 'offset');
  const count = integerParam(parameters, 'count');
  if (offset === 'invalid' || count === 'invalid') {
    return failure(400, 'invalid', '"offset" and "count" must be non-negative integers');
  }
  try {
    return { status: 200, resource: terminology.expand(url, { filter: stringParam(parameters, 'filter'), offset, count }) };
  } catch (err) {
    return errorResult(err);
  }
}

interface CodeToCheck {
  readonly system?: string;
  readonly code: string;
  readonly display?: string;
}

function codesToCheck(parameters: Parameters | undefined): CodeToCheck[] | undefined {
  const code = stringParam(parameters, 'code');
  if (code !== undefined) {
    return [{ code, system: stringParam(parameters, 'system'), display: stringParam(parameters, 'display') }];
  }
  const coding = param(parameters, 'coding')?.valueCoding as Coding | undefined;
  if (coding?.code) {
    return [{ code: coding.code, system: coding.system, display: coding.display }];
  }
  const concept = param(parameters, 'codeableConcept')?.valueCodeableConcept as CodeableConcept | undefined;
  if (concept?.coding?.length) {
    return concept.coding.filter((c) => c.code).map((c) => ({ code: c.code as string, system: c.system, display: c.display }));
  }
  return undefined;
}

/** `ValueSet/$validate-code`: result, message, display. */
export function validateCode(
  terminology: TerminologyService,
  parameters: Parameters | undefined,
  instanceUrl?: string,
): TerminologyResult<Parameters> {
  const url = instanceUrl ?? stringParam(parameters, 'url');
  if (!url) {
    return failure(400, 'invalid', '$validate-code needs a value set: invoke it on a ValueSet instance or give the "url" parameter');
  }
  if (!terminology.getValueSet(url)) {
    return failure(404, 'not-found', `ValueSet ${url} is not known to this server`);
  }
  const codes = codesToCheck(parameters);
  if (!codes || codes.length === 0) {
    return failure(400, 'invalid', '$validate-code needs "code" (with "system"), "coding" or "codeableConcept"');
  }
  let undecided: CodeToCheck | undefined;
  for (const c of codes) {
    const membership = terminology.membership(url, c.system, c.code);
    if (membership === 'member') {
      const found = terminology.findInValueSet(url, c.system, c.code);
      const display = found?.display ?? (c.system ? terminology.lookupConcept(c.system, c.code)?.display : undefined);
      const out: ParametersParameter[] = [{ name: 'result', valueBoolean: true }];
      if (display) {
        out.push({ name: 'display', valueString: display });
      }
      if (c.display && display && c.display !== display) {
        out.push({ name: 'message', valueString: `The display "${c.display}" is not the display of ${c.code} ("${display}")` });
      }
      return { status: 200, resource: { resourceType: 'Parameters', parameter: out } };
    }
    if (membership === 'unknown') {
      undecided ??= c;
    }
  }
  if (undecided) {
    return failure(
      422,
      'not-supported',
      `Whether ${undecided.system ?? ''}|${undecided.code} is in ${url} cannot be decided from the terminology this server holds`,
    );
  }
  const shown = codes.map((c) => `${c.system ?? ''}|${c.code}`).join(', ');
  return {
    status: 200,
    resource: {
      resourceType: 'Parameters',
      parameter: [
        { name: 'result', valueBoolean: false },
        { name: 'message', valueString: `${shown} is not in the value set ${url}` },
      ],
    },
  };
}

/** `CodeSystem/$lookup`: name, version, display, definition, designation, property. */
export function lookupCode(
  terminology: TerminologyService,
  parameters: Parameters | undefined,
  instanceUrl?: string,
): TerminologyResult<Parameters> {
  const coding = param(parameters, 'coding')?.valueCoding as Coding | undefined;
  const system = instanceUrl ?? stringParam(parameters, 'system') ?? coding?.system;
  const code = stringParam(parameters, 'code') ?? coding?.code;
  if (!system || !code) {
    return failure(400, 'invalid', '$lookup needs "system" and "code", or "coding"');
  }
  const cs = terminology.getCodeSystem(system);
  if (!cs) {
    return failure(404, 'not-found', `CodeSystem ${system} is not known to this server`);
  }
  const concept = terminology.lookupConcept(system, code);
  if (!concept) {
    return failure(404, 'not-found', `Code "${code}" is not in CodeSystem ${system}`);
  }
  const out: ParametersParameter[] = [{ name: 'name', valueString: cs.name ?? cs.title ?? system }];
  if (cs.version) {
    out.push({ name: 'version', valueString: cs.version });
  }
  out.push({ name: 'display', valueString: concept.display ?? code });
  if (concept.definition) {
    out.push({ name: 'definition', valueString: concept.definition });
  }
  for (const d of concept.designation ?? []) {
    out.push({
      name: 'designation',
      part: [
        ...(d.language ? [{ name: 'language', valueCode: d.language }] : []),
        ...(d.use ? [{ name: 'use', valueCoding: d.use }] : []),
        { name: 'value', valueString: d.value },
      ],
    });
  }
  const wanted = (parameters?.parameter ?? []).filter((p) => p.name === 'property').map((p) => p.valueCode ?? p.valueString);
  for (const p of concept.property ?? []) {
    if (wanted.length > 0 && !wanted.includes(p.code)) {
      continue;
    }
    const valueKey = Object.keys(p).find((k) => k.startsWith('value')) as keyof typeof p | undefined;
    const value = valueKey ? { [valueKey]: p[valueKey] } : {};
    out.push({ name: 'property', part: [{ name: 'code', valueCode: p.code }, { name: 'value', ...value }] });
  }
  return { status: 200, resource: { resourceType: 'Parameters', parameter: out } };
}
