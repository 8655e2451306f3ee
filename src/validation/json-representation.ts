import { isResourceType, tryGetDataType } from '@medplum/core';
import type { InternalSchemaElement, InternalTypeSchema } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isObject } from './pattern-matching.ts';

/**
 * The R4 JSON representation rules (https://hl7.org/fhir/R4/json.html) and resource ids
 * (https://hl7.org/fhir/R4/datatypes.html#id), checked by walking the resource against the base
 * type schemas BEFORE anything else reads it. @medplum/core and our own checks assume a value has
 * the JSON shape its element declares (meta.profile an array, `_status` an object); a resource
 * that breaks that assumption crashed validation with a 500. Shape errors are therefore
 * `blocking`: the validator reports them and stops, so no later check ever sees a broken shape.
 * The other findings (empty arrays and objects, ids, an extension on Resource.id) leave the shape
 * readable, so full validation still runs and reports everything else too.
 */

export interface RepresentationFindings {
  readonly issues: OperationOutcomeIssue[];
  /** Whether some value does not have the JSON shape of its element: nothing else may read the resource. */
  readonly blocking: boolean;
}

/** R4 `id`: https://hl7.org/fhir/R4/datatypes.html#id */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

interface JsonProperty {
  readonly element: InternalSchemaElement;
  /** The type of this property's values: for a choice element, the one its name carries. */
  readonly type: string;
  /** For a canonical: the StructureDefinitions of the resource types it may point to (targetProfile). */
  readonly targets?: readonly string[];
}

const propertiesByType = new Map<string, Map<string, JsonProperty> | null>();

/** JSON property names of a type (`valueString` for `value[x]` of type string), read once per type. */
function propertiesOf(type: string): Map<string, JsonProperty> | undefined {
  const known = propertiesByType.get(type);
  if (known !== undefined) {
    return known ?? undefined;
  }
  const schema: InternalTypeSchema | undefined = tryGetDataType(type);
  if (!schema?.elements) {
    propertiesByType.set(type, null);
    return undefined;
  }
  const out = new Map<string, JsonProperty>();
  for (const [name, element] of Object.entries(schema.elements)) {
    if (name.includes('.')) {
      continue;
    }
    if (name.endsWith('[x]')) {
      const stem = name.slice(0, -3);
      for (const t of element.type ?? []) {
        out.set(stem + t.code[0].toUpperCase() + t.code.slice(1), { element, type: t.code, targets: t.targetProfile });
      }
    } else if (element.type?.length) {
      out.set(name, { element, type: element.type[0].code, targets: element.type[0].targetProfile });
    }
  }
  propertiesByType.set(type, out);
  return out;
}

function isPrimitive(type: string): boolean {
  const first = type.charCodeAt(0);
  return first >= 97 && first <= 122; // lower-case type codes are the FHIR primitives
}

function isArrayElement(element: InternalSchemaElement): boolean {
  return element.isArray === true;
}

/** Where a list of extensions sits: what the extension's context (StructureDefinition.context) is matched against. */
export interface ExtensionHost {
  /** The type of the element that carries the extensions ('Patient', 'HumanName', 'date', 'PatientContact'). */
  readonly type: string;
  /** Its element path in the base definition ('Patient.name', 'Observation.value[x]'). */
  readonly elementPath: string;
  /** Where it is in this resource ('Patient.name[0]'). */
  readonly path: string;
  readonly key: 'extension' | 'modifierExtension';
}

/**
 * Sees the values of a resource with their types as the walk passes them, so that checks which
 * need the type of a value (extension contexts, absolute URIs, Attachment data) cost no walk of
 * their own. Values of a broken shape are not passed on.
 */
export interface RepresentationVisitor {
  extensions?(extensions: readonly unknown[], host: ExtensionHost): void;
  /**
   * A primitive value of an element of type `type` (uri, canonical, ...); `targets`, for a
   * canonical, the StructureDefinitions of the resource types it may point to.
   */
  primitive?(value: string | number | boolean, type: string, path: string, elementPath: string, targets?: readonly string[]): void;
  /** An object of a complex type or a resource ('Attachment', 'Bundle'). */
  complex?(value: Record<string, unknown>, type: string, path: string): void;
}

interface Walk {
  readonly issues: OperationOutcomeIssue[];
  blocking: boolean;
  readonly visitor?: RepresentationVisitor;
}

function flag(walk: Walk, path: string, text: string, rule: string, blocking: boolean): void {
  walk.issues.push({
    severity: 'error',
    code: blocking ? 'structure' : 'invalid',
    details: { text: `${path}: ${text}` },
    diagnostics: `rule ${rule} (https://hl7.org/fhir/R4/json.html)`,
    expression: [path],
  });
  if (blocking) {
    walk.blocking = true;
  }
}

function jsonKind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A resource (the root, a contained one, a Bundle entry's, a Parameters part's). */
function walkResource(value: unknown, path: string, walk: Walk, root: boolean): void {
  if (!isObject(value)) {
    flag(walk, path, `expected a resource (a JSON object with resourceType), got ${jsonKind(value)}`, 'json-resource', true);
    return;
  }
  const type = value.resourceType;
  if (typeof type !== 'string' || !isResourceType(type) || !tryGetDataType(type)) {
    flag(walk, path, `resourceType ${JSON.stringify(type)} is not an R4 resource type`, 'json-resource-type', true);
    return;
  }
  const at = root ? type : path;
  if (value.id !== undefined && (typeof value.id !== 'string' || !FHIR_ID.test(value.id))) {
    walk.issues.push({
      severity: 'error',
      code: 'value',
      details: { text: `${at}.id: ${JSON.stringify(value.id)} is not a valid id (1 to 64 of A-Z, a-z, 0-9, '-' and '.')` },
      diagnostics: 'rule id-format (https://hl7.org/fhir/R4/datatypes.html#id)',
      expression: [`${at}.id`],
    });
    if (typeof value.id !== 'string') {
      walk.blocking = true;
    }
  }
  if (value._id !== undefined) {
    // Resource.id is a System.String with no Element: it cannot carry id or extensions.
    flag(walk, `${at}.id`, 'Resource.id cannot have extensions or an element id (_id)', 'json-resource-id-extension', false);
  }
  walkObject(value, type, at, type, walk, true);
}

function walkObject(obj: Record<string, unknown>, type: string, path: string, elementPath: string, walk: Walk, isResource: boolean): void {
  const properties = propertiesOf(type);
  if (!properties) {
    return;
  }
  let keys = 0;
  for (const key of Object.keys(obj)) {
    if (obj[key] === undefined) {
      continue; // not JSON: an element the server removed in memory (meta: undefined)
    }
    keys++;
    if (isResource && (key === 'resourceType' || key === '_id')) {
      continue;
    }
    if (key.charCodeAt(0) === 95 /* _ */) {
      walkPrimitiveElement(obj, key, properties, path, walk);
      continue;
    }
    const property = properties.get(key);
    if (!property) {
      continue; // not an element of the type: reported by the structure validator
    }
    walkProperty(obj, key, property, `${path}.${key}`, walk);
    // A primitive's `_x` (type Element) reports its extensions itself, with the primitive as host.
    if ((key === 'extension' || key === 'modifierExtension') && walk.visitor?.extensions && type !== 'Element' && Array.isArray(obj[key])) {
      walk.visitor.extensions(obj[key] as unknown[], { type, elementPath, path, key });
    }
  }
  if (keys === 0 && !isResource) {
    flag(walk, path, 'an empty object is not allowed; leave the element out', 'json-empty-object', false);
  }
  walk.visitor?.complex?.(obj, type, path);
}

function walkProperty(obj: Record<string, unknown>, key: string, property: JsonProperty, path: string, walk: Walk): void {
  const value = obj[key];
  const primitive = isPrimitive(property.type);
  if (isArrayElement(property.element)) {
    if (!Array.isArray(value)) {
      flag(walk, path, `expected an array, got ${jsonKind(value)}`, 'json-array', true);
      return;
    }
    if (value.length === 0) {
      flag(walk, path, 'an empty array is not allowed; leave the element out', 'json-empty-array', false);
      return;
    }
    const extensions = obj['_' + key];
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === null) {
        const hasElement = Array.isArray(extensions) && isObject(extensions[i]);
        if (!primitive || !hasElement) {
          flag(walk, `${path}[${i}]`, primitive
            ? `null is only allowed in a primitive array as the placeholder for an entry whose _${key} has content`
            : 'null is not allowed', 'json-null', true);
        }
        continue;
      }
      walkValue(item, property.type, `${path}[${i}]`, property.element.path, walk, property.targets);
    }
    return;
  }
  if (Array.isArray(value)) {
    flag(walk, path, `expected a single value, got an array`, 'json-single', true);
    return;
  }
  walkValue(value, property.type, path, property.element.path, walk, property.targets);
}

function walkValue(value: unknown, type: string, path: string, elementPath: string, walk: Walk, targets?: readonly string[]): void {
  if (value === null) {
    flag(walk, path, 'null is not allowed', 'json-null', true);
    return;
  }
  if (isPrimitive(type)) {
    if (typeof value === 'object') {
      flag(walk, path, `expected a ${type} value (a JSON string, number or boolean), got ${jsonKind(value)}`, 'json-primitive', true);
    } else if (walk.visitor?.primitive && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
      walk.visitor.primitive(value, type, path, elementPath, targets);
    }
    return;
  }
  if (type === 'Resource' || type === 'DomainResource') {
    walkResource(value, path, walk, false);
    return;
  }
  if (!isObject(value)) {
    flag(walk, path, `expected a ${type} (a JSON object), got ${jsonKind(value)}`, 'json-object', true);
    return;
  }
  walkObject(value, type, path, elementPath, walk, false);
}

/** `_name`: the id and extensions of primitive `name` (https://hl7.org/fhir/R4/json.html#primitive). */
function walkPrimitiveElement(obj: Record<string, unknown>, key: string, properties: Map<string, JsonProperty>, path: string, walk: Walk): void {
  const name = key.slice(1);
  const property = properties.get(name);
  const at = `${path}.${name}`;
  if (!property || !isPrimitive(property.type)) {
    flag(walk, `${path}.${key}`, `${name} is not a primitive element of this type, so ${key} is not allowed`, 'json-primitive-element', true);
    return;
  }
  const value = obj[key];
  if (isArrayElement(property.element)) {
    const values = obj[name];
    if (!Array.isArray(value)) {
      flag(walk, at, `${key} must be an array aligned with ${name}, got ${jsonKind(value)}`, 'json-primitive-element', true);
      return;
    }
    if (values !== undefined && (!Array.isArray(values) || values.length !== value.length)) {
      flag(walk, at, `${key} must have as many entries as ${name}`, 'json-primitive-element', true);
      return;
    }
    for (let i = 0; i < value.length; i++) {
      if (value[i] === null) {
        if (!Array.isArray(values) || values[i] === null || values[i] === undefined) {
          flag(walk, `${at}[${i}]`, `entry ${i} has neither a value nor an element (_${name})`, 'json-null', true);
        }
        continue;
      }
      walkElement(value[i], `${at}[${i}]`, key, property, walk);
    }
    return;
  }
  walkElement(value, at, key, property, walk);
}

function walkElement(value: unknown, path: string, key: string, property: JsonProperty, walk: Walk): void {
  if (!isObject(value)) {
    flag(walk, path, `${key} must be an object with id and/or extension, got ${jsonKind(value)}`, 'json-primitive-element', true);
    return;
  }
  const other = Object.keys(value).find((k) => k !== 'id' && k !== 'extension');
  if (other !== undefined) {
    flag(walk, path, `${key} may only have id and extension, not ${JSON.stringify(other)}`, 'json-primitive-element', true);
    return;
  }
  const extensions = value.extension;
  walkObject(value, 'Element', path, property.element.path, walk, false);
  if (walk.visitor?.extensions && Array.isArray(extensions)) {
    // The extensions of a primitive sit on the primitive: its type is the context.
    walk.visitor.extensions(extensions, { type: property.type, elementPath: property.element.path, path, key: 'extension' });
  }
}

/**
 * Checks the JSON shape of a resource (json.html) and the ids of it, its contained resources and
 * every resource inside it. Cheap: one walk over the resource, type tables built once per type.
 */
export function checkRepresentation(resource: unknown, visitor?: RepresentationVisitor): RepresentationFindings {
  const walk: Walk = { issues: [], blocking: false, visitor };
  walkResource(resource, isObject(resource) && typeof resource.resourceType === 'string' ? resource.resourceType : 'Resource', walk, true);
  return walk;
}
