import {
  OperationOutcomeError,
  getAllDataTypes,
  loadDataType,
  tryGetDataType,
  tryGetProfile,
  validateTypedValue,
} from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { getTerminologyService, type TerminologyService } from '../terminology/terminology.ts';
import { loadBaseDefinitions } from '../conformance/base-definitions.ts';
import { loadKansasPackage } from '../conformance/kansas-package.ts';
import {
  checkResourceAgainstProfile,
  compileProfile,
  type CompiledProfile,
  type CompileHelpers,
  type ElementRule,
  type RuleSource,
} from './profile-rules.ts';

/**
 * Every profile and extension this server knows, parsed ONCE: @medplum/core re-parses a profile on
 * every `validateResource(r, { profile })` call (~3 ms per CarePlan, ../shared/measurements.md §1),
 * so we register each parsed schema under an alias type name and validate with
 * `validateTypedValue({ type: alias, value })`, which reads the schema from medplum's registry.
 */

interface KnownProfile {
  readonly sd: StructureDefinition;
  /** Type name under which medplum's parsed schema of the profile is registered. */
  readonly alias: string;
  readonly rules: CompiledProfile;
}

/**
 * medplum 5.2.13 mis-parses a complex extension expanded inside a profile snapshot: the
 * sub-extension slices (`X.extension:slice.extension:sub`) are taken as slices of `X.extension`
 * itself, so every resource with the extension fails. Medplum only needs the slice element and its
 * `.url` (fixedUri) to match and count the slice (snapshots.md caveat (a)); the extension's content
 * is checked by our own rules against the extension definition. So those descendants are removed
 * from the copy handed to medplum.
 */
/**
 * Invariants that @medplum/core's FHIRPath engine cannot evaluate as written: it throws on `or`
 * between non-boolean collections. US Core 6.1.0 PractitionerRole pd-1 "telecom or endpoint" and
 * us-core-13 "practitioner or organization or healthcareService or location" made every
 * PractitionerRole fail with "Error evaluating invariant expression". An expression that is only
 * `a or b or ...` over element names is rewritten to the equivalent `a.exists() or b.exists() ...`
 * (FHIRPath: a non-empty collection used as a boolean is true).
 */
const BARE_OR = /^[A-Za-z]+( or [A-Za-z]+)+$/;

function fixInvariant(expression: string | undefined): string | undefined {
  if (!expression || !BARE_OR.test(expression)) {
    return undefined;
  }
  return expression
    .split(' or ')
    .map((name) => `${name}.exists()`)
    .join(' or ');
}

export function snapshotForMedplum(sd: StructureDefinition): StructureDefinition {
  const elements = (sd.snapshot?.element ?? []).map((e) =>
    e.constraint?.some((c) => fixInvariant(c.expression))
      ? { ...e, constraint: e.constraint.map((c) => ({ ...c, expression: fixInvariant(c.expression) ?? c.expression })) }
      : e,
  );
  const extensionSlices = elements
    .filter((e) => e.sliceName && e.type?.length === 1 && e.type[0].code === 'Extension' && e.type[0].profile?.length)
    .map((e) => e.id as string);
  if (extensionSlices.length === 0) {
    return { ...sd, snapshot: { ...sd.snapshot, element: elements } };
  }
  const keep = elements.filter((e) => {
    const id = e.id as string;
    return !extensionSlices.some((slice) => id.startsWith(slice + '.') && id !== slice + '.url');
  });
  return { ...sd, snapshot: { ...sd.snapshot, element: keep } };
}

/** Base R4 datatypes and backbone types as rules (bindings only; medplum checks the rest). */
class BaseRules {
  private readonly rules = new Map<string, ElementRule | null>();
  private readonly hasChecks = new Map<string, boolean>();

  datatype(type: string): ElementRule | undefined {
    const cached = this.rules.get(type);
    if (cached !== undefined) {
      return cached ?? undefined;
    }
    const schema = tryGetDataType(type);
    if (!schema || !schema.elements) {
      this.rules.set(type, null);
      return undefined;
    }
    const children: ElementRule[] = [];
    for (const [name, el] of Object.entries(schema.elements)) {
      const choice = name.endsWith('[x]');
      const binding = el.binding;
      const types = (el.type ?? []).map((t) => t.code);
      const rule: ElementRule = {
        id: el.path,
        key: choice ? name.slice(0, -3) : name,
        choice,
        min: el.min,
        max: el.max,
        types,
        binding:
          binding?.valueSet && (binding.strength === 'required' || binding.strength === 'extensible')
            ? { strength: binding.strength, valueSet: binding.valueSet }
            : undefined,
        children: [],
        slices: [],
        checked: false,
      };
      children.push(rule);
    }
    const root: ElementRule = {
      id: type,
      key: type,
      choice: false,
      min: 0,
      max: Infinity,
      types: [type],
      children,
      slices: [],
      checked: false,
    };
    this.rules.set(type, root);
    for (const child of children) {
      child.checked = child.binding !== undefined || child.types.some((t) => this.typeHasChecks(t));
    }
    root.checked = children.some((c) => c.checked);
    return root;
  }

  /** Whether a value of this type can contain something with a required/extensible binding. */
  typeHasChecks(type: string, visiting: Set<string> = new Set()): boolean {
    const known = this.hasChecks.get(type);
    if (known !== undefined) {
      return known;
    }
    // Extensions are checked through their own definitions; primitives carry no children.
    if (type === 'Extension' || visiting.has(type) || /^[a-z]/.test(type)) {
      return false;
    }
    visiting.add(type);
    const schema = tryGetDataType(type);
    let result = false;
    for (const el of Object.values(schema?.elements ?? {})) {
      const strength = el.binding?.strength;
      if (el.binding?.valueSet && (strength === 'required' || strength === 'extensible')) {
        result = true;
        break;
      }
      if ((el.type ?? []).some((t) => this.typeHasChecks(t.code, visiting))) {
        result = true;
        break;
      }
    }
    visiting.delete(type);
    if (visiting.size === 0) {
      this.hasChecks.set(type, result);
    }
    return result;
  }
}

/** Names the rule behind a @medplum/core validation message (its messages are fixed strings). */
export function medplumRule(text: string): string {
  if (text === 'Missing required property' || text.startsWith('Invalid number of values')) {
    return 'cardinality';
  }
  if (text.startsWith('Incorrect number of values provided for slice')) {
    return 'slice-cardinality';
  }
  if (text === 'Value did not match expected pattern') {
    return 'fixed-or-pattern';
  }
  const invariant = /^Constraint (\S+) not met/.exec(text);
  if (invariant) {
    return `invariant ${invariant[1]}`;
  }
  if (text.startsWith('Invalid additional property')) {
    return 'unknown-element';
  }
  if (text.startsWith('Invalid reference')) {
    return 'reference-target';
  }
  if (/^Invalid (JSON type|\S+ (format|value))|^Expected number|^String /.test(text)) {
    return 'primitive-format';
  }
  return 'structure';
}

/** medplum's issues do not say which profile and rule failed; each issue must (issue 5, "Errors"). */
export function annotateMedplumIssues(issues: readonly OperationOutcomeIssue[], profileUrl: string): OperationOutcomeIssue[] {
  return issues.map((issue) => {
    const rule = medplumRule(issue.details?.text ?? '');
    const element = issue.expression?.[0]?.replace(/\[\d+\]/g, '');
    const where = `profile ${profileUrl}${element ? `, element ${element}` : ''}, rule ${rule}`;
    return { ...issue, diagnostics: issue.diagnostics ? `${where}; ${issue.diagnostics}` : where };
  });
}

export class ProfileRegistry implements RuleSource {
  private readonly profiles = new Map<string, KnownProfile>();
  private readonly extensions = new Map<string, CompiledProfile>();
  private readonly base = new BaseRules();
  readonly terminology: TerminologyService;
  private readonly helpers: CompileHelpers;

  constructor(terminology: TerminologyService) {
    this.terminology = terminology;
    this.helpers = {
      typeHasChecks: (type) => this.base.typeHasChecks(type),
    };
  }

  /** Registers a StructureDefinition with a snapshot (a profile or an extension definition). */
  register(sd: StructureDefinition): void {
    const url = sd.url;
    if (sd.type === 'Extension') {
      this.extensions.set(url, compileProfile(sd, this.helpers));
      loadDataType(sd);
      return;
    }
    const forMedplum = snapshotForMedplum(sd);
    loadDataType(forMedplum);
    const schema = tryGetProfile(url);
    if (!schema) {
      throw new Error(`medplum could not load profile ${url}`);
    }
    const alias = `profile:${url}`;
    (getAllDataTypes() as Record<string, InternalTypeSchema>)[alias] = schema;
    this.profiles.set(url, { sd, alias, rules: compileProfile(sd, this.helpers) });
  }

  has(url: string): boolean {
    return this.profiles.has(url);
  }

  get(url: string): StructureDefinition | undefined {
    return this.profiles.get(url)?.sd;
  }

  urls(): string[] {
    return [...this.profiles.keys()];
  }

  extension(url: string): CompiledProfile | undefined {
    return this.extensions.get(url);
  }

  datatype(type: string): ElementRule | undefined {
    return this.base.datatype(type);
  }

  /** Structure (medplum, cached schema) + our gap checks against one known profile. */
  validateAgainst(resource: Resource, url: string): OperationOutcomeIssue[] {
    const known = this.profiles.get(url);
    if (!known) {
      throw new Error(`Unknown profile ${url}`);
    }
    let issues: OperationOutcomeIssue[];
    try {
      issues = validateTypedValue({ type: known.alias, value: resource });
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) {
        throw err;
      }
      issues = err.outcome.issue ?? [];
    }
    issues = annotateMedplumIssues(issues, url);
    checkResourceAgainstProfile(resource as unknown as Record<string, unknown>, known.rules, this.terminology, this, issues);
    return issues;
  }

  /** Our gap checks against the base R4 definition of the resource type (bindings, extensions). */
  checkBase(resource: Resource): OperationOutcomeIssue[] {
    return this.checkBaseWith(resource, this);
  }

  /**
   * The same checks with no extension definition applied: only what the base StructureDefinition
   * of the type itself requires (its required bindings). An extension definition is a profile on
   * Extension (https://hl7.org/fhir/R4/extensibility.html#Extension), so its rules are not base R4.
   */
  checkBaseDefinitionOnly(resource: Resource): OperationOutcomeIssue[] {
    return this.checkBaseWith(resource, { extension: () => undefined, datatype: (type) => this.datatype(type) });
  }

  private checkBaseWith(resource: Resource, rules: RuleSource): OperationOutcomeIssue[] {
    const root = this.base.datatype(resource.resourceType);
    const issues: OperationOutcomeIssue[] = [];
    if (!root) {
      return issues;
    }
    checkResourceAgainstProfile(
      resource as unknown as Record<string, unknown>,
      { url: `http://hl7.org/fhir/StructureDefinition/${resource.resourceType}`, type: resource.resourceType, root },
      this.terminology,
      rules,
      issues,
    );
    return issues;
  }
}

let registry: ProfileRegistry | undefined;

/** The process-wide registry: base R4, US Core 6.1.0 profiles used, and every Kansas profile and extension. */
export function getProfileRegistry(): ProfileRegistry {
  if (registry) {
    return registry;
  }
  loadBaseDefinitions();
  const pkg = loadKansasPackage();
  const result = new ProfileRegistry(getTerminologyService());
  // Extensions first: profiles' slices refer to them.
  for (const sd of pkg.structureDefinitions.filter((s) => s.type === 'Extension')) {
    result.register(sd);
  }
  for (const sd of pkg.usCoreProfiles) {
    result.register(sd);
  }
  for (const sd of pkg.profiles) {
    result.register(sd);
  }
  registry = result;
  return result;
}
