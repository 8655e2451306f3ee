import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

/**
 * A StructureDefinition snapshot compiled once into a rule tree (elements by id, slices under the
 * element they slice), which profile-check.ts walks for every resource. The tree keeps only what
 * those checks and slice matching read: cardinality, types, fixed[x]/pattern[x], required and
 * extensible bindings, extension profiles and slicing discriminators.
 */

export interface BindingRule {
  readonly strength: 'required' | 'extensible';
  readonly valueSet: string;
}

interface Discriminator {
  readonly type: string;
  readonly path: string;
}

export interface ElementRule {
  readonly id: string;
  /** JSON property name without `[x]`. */
  readonly key: string;
  readonly choice: boolean;
  readonly min: number;
  readonly max: number;
  /** Allowed type codes ('string', 'CodeableConcept' ...). */
  readonly types: readonly string[];
  readonly fixed?: unknown;
  readonly pattern?: unknown;
  readonly binding?: BindingRule;
  /** For an Extension-typed slice: the extension definition URL. */
  readonly extensionProfile?: string;
  readonly sliceName?: string;
  readonly discriminators?: readonly Discriminator[];
  readonly children: ElementRule[];
  readonly slices: ElementRule[];
  /** Whether anything in this subtree needs our checks outside strict (slice/extension) context. */
  checked: boolean;
}

export interface CompiledProfile {
  readonly url: string;
  readonly type: string;
  readonly root: ElementRule;
  /** For an extension definition: the element paths it may sit on (StructureDefinition.context). */
  readonly contexts?: readonly string[];
}

const FHIRPATH_SYSTEM_TYPES: Record<string, string> = {
  'http://hl7.org/fhirpath/System.String': 'string',
  'http://hl7.org/fhirpath/System.Boolean': 'boolean',
  'http://hl7.org/fhirpath/System.Integer': 'integer',
  'http://hl7.org/fhirpath/System.Decimal': 'decimal',
  'http://hl7.org/fhirpath/System.Date': 'date',
  'http://hl7.org/fhirpath/System.DateTime': 'dateTime',
  'http://hl7.org/fhirpath/System.Time': 'time',
};

function prefixedValue(element: ElementDefinition, prefix: 'fixed' | 'pattern'): unknown {
  for (const key of Object.keys(element)) {
    if (key.startsWith(prefix) && key.length > prefix.length) {
      return (element as unknown as Record<string, unknown>)[key];
    }
  }
  return undefined;
}

function lastSegment(id: string): string {
  return id.slice(id.lastIndexOf('.') + 1);
}

export interface CompileHelpers {
  /** Whether values of this (complex) type contain anything our checks look at. */
  typeHasChecks(type: string): boolean;
}

/**
 * Compiles a snapshot into a rule tree, once per profile: elements by id, slices under the
 * element they slice, and a `checked` flag on every subtree that holds something our checks read.
 */
export function compileProfile(sd: StructureDefinition, helpers: CompileHelpers): CompiledProfile {
  const elements = sd.snapshot?.element ?? [];
  if (elements.length === 0) {
    throw new Error(`StructureDefinition ${sd.url} has no snapshot`);
  }
  const byId = new Map<string, ElementRule>();
  let root: ElementRule | undefined;
  for (const element of elements) {
    const id = element.id ?? element.path;
    const segment = lastSegment(id);
    const colon = segment.indexOf(':');
    const name = colon >= 0 ? segment.slice(0, colon) : segment;
    const choice = name.endsWith('[x]');
    const types = (element.type ?? []).map((t) => FHIRPATH_SYSTEM_TYPES[t.code] ?? t.code);
    const binding = element.binding;
    const rule: ElementRule = {
      id,
      key: choice ? name.slice(0, -3) : name,
      choice,
      min: element.min ?? 0,
      max: element.max === undefined || element.max === '*' ? Infinity : Number(element.max),
      types,
      fixed: prefixedValue(element, 'fixed'),
      pattern: prefixedValue(element, 'pattern'),
      binding:
        binding?.valueSet && (binding.strength === 'required' || binding.strength === 'extensible')
          ? { strength: binding.strength, valueSet: binding.valueSet }
          : undefined,
      extensionProfile: types.length === 1 && types[0] === 'Extension' ? element.type?.[0]?.profile?.[0] : undefined,
      sliceName: element.sliceName,
      discriminators: element.slicing?.discriminator?.map((d) => ({ type: d.type, path: d.path })),
      children: [],
      slices: [],
      checked: false,
    };
    byId.set(id, rule);
    if (!root) {
      root = rule;
      continue;
    }
    if (colon >= 0) {
      // A slice (or re-slice) of the element with the same id without ":name".
      const slicedId = id.slice(0, id.length - segment.length) + name;
      const sliced = byId.get(slicedId);
      sliced?.slices.push(rule);
      // Slicing entries may live on the sliced element only; inherit for matching.
      if (sliced && !rule.discriminators && sliced.discriminators) {
        (rule as { discriminators?: readonly Discriminator[] }).discriminators = sliced.discriminators;
      }
    } else {
      const parentId = id.slice(0, id.length - segment.length - 1);
      byId.get(parentId)?.children.push(rule);
    }
  }
  if (!root) {
    throw new Error(`StructureDefinition ${sd.url} has an empty snapshot`);
  }
  markChecked(root, helpers);
  const contexts = sd.type === 'Extension' ? (sd.context ?? []).map((c) => c.expression) : undefined;
  return { url: sd.url, type: sd.type, root, contexts };
}

function markChecked(rule: ElementRule, helpers: CompileHelpers): boolean {
  let checked = rule.binding !== undefined || rule.slices.length > 0;
  for (const child of rule.children) {
    checked = markChecked(child, helpers) || checked;
  }
  for (const slice of rule.slices) {
    markChecked(slice, helpers);
  }
  if (!checked && rule.children.length === 0) {
    // A leaf of complex type: its datatype's own rules (e.g. Identifier.use) apply.
    checked = rule.types.some((t) => helpers.typeHasChecks(t));
  }
  rule.checked = checked;
  return checked;
}

/** The rule of the element (or slice) with this ElementDefinition.id, anywhere in the tree. */
export function findElementRule(rule: ElementRule, id: string): ElementRule | undefined {
  if (rule.id === id) {
    return rule;
  }
  for (const next of [...rule.children, ...rule.slices]) {
    if (id.startsWith(next.id)) {
      const found = findElementRule(next, id);
      if (found) {
        return found;
      }
    }
  }
  return undefined;
}
