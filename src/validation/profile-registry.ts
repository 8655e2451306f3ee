import {
  OperationOutcomeError,
  getAllDataTypes,
  loadDataType,
  tryGetProfile,
  validateTypedValue,
} from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { Conformance } from '../conformance/conformance.ts';
import type { TerminologyService } from '../conformance/terminology-service.ts';
import { BaseRules } from './base-rules.ts';
import { compileProfile, type CompiledProfile, type CompileHelpers, type ElementRule } from './compiled-profile.ts';
import { annotateMedplumIssues, snapshotForMedplum } from './medplum-profile.ts';
import { checkResourceAgainstProfile, type RuleSource } from './profile-check.ts';

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

  /** The compiled rules of a known profile (not of an extension: see `extension`). */
  rules(url: string): CompiledProfile | undefined {
    return this.profiles.get(url)?.rules;
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

/**
 * The registry of one Conformance: base R4, the US Core 6.1.0 profiles the Kansas ones derive
 * from, and every Kansas profile and extension. Built by createResourceValidator and held by the
 * validator (~0.1 s; medplum's parsed schemas live in its global type registry, which registering
 * the same profile again overwrites with an equal schema).
 */
export function compileProfileRegistry(conformance: Conformance): ProfileRegistry {
  const pkg = conformance.kansas;
  const result = new ProfileRegistry(conformance.terminology);
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
  return result;
}
