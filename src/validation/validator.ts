import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Conformance } from '../conformance/conformance.ts';
import { compileCanonicalDefinitions } from './canonical-targets.ts';
import { contentPolicyVisitor } from './content-policies.ts';
import { checkExtensionList, type ExtensionCheckOptions } from './core-extensions.ts';
import { checkRepresentation } from './json-representation.ts';
import { specRuleVisitor } from './spec-rules.ts';
import { annotateMedplumIssues } from './medplum-profile.ts';
import { compileKansasProfileDetection, type KansasProfileDetection } from './profile-detection.ts';
import { compileProfileRegistry, type ProfileRegistry } from './profile-registry.ts';

export interface ValidationOptions {
  /** Extra profiles to validate against, in addition to those in meta.profile. */
  readonly profiles?: readonly string[];
  /**
   * Validate against exactly these profiles and ignore meta.profile and Kansas auto-detection
   * (`$validate?profile=...`). Unknown URLs are errors here, since the caller asked for them.
   */
  readonly onlyProfiles?: readonly string[];
}

/**
 * Checks a resource before it is stored. Returns every issue found (errors and warnings); the
 * caller rejects the write when any issue has severity `error` or `fatal`.
 */
export interface ResourceValidator {
  validate(resource: Resource, options?: ValidationOptions): OperationOutcomeIssue[];
  /**
   * Whether the resource passes validation against the base StructureDefinition of its type alone
   * (`http://hl7.org/fhir/StructureDefinition/{type}`: elements, types, cardinality, invariants,
   * required bindings), with no profile and no extension definition applied. Decides 400 or 422
   * for a rejected write (see `rejectionStatus`).
   */
  conformsToBase(resource: Resource): boolean;
}

/**
 * The status of a write that validation rejects (https://hl7.org/fhir/R4/http.html#update and
 * #2.21.0.4): 400 "failed basic FHIR validation rules" when the resource does not conform to base
 * R4; 422 "violated applicable FHIR profiles" when it does, so that every error comes from a
 * profile (meta.profile, a detected Kansas profile, the US Core profile it derives from, an
 * extension definition, ks-* invariants). Base validation runs only here, on the failure path,
 * so accepted writes pay nothing for the distinction.
 */
export function rejectionStatus(validator: ResourceValidator, resource: Resource): 400 | 422 {
  return validator.conformsToBase(resource) ? 422 : 400;
}

export interface ResourceValidatorOptions {
  /**
   * Resources that are recognisably Kansas plan content (a CarePlan with a ks-plan-type category,
   * a Task with a ks-task-type code, ...: the element each Kansas profile names as identifying,
   * profile-detection.ts) are validated against their Kansas profile even when meta.profile does
   * not name it (issue 5). Default true.
   */
  readonly validateKansasPlansWithoutMetaProfile?: boolean;
  /**
   * STRICT_EXTENSIONS: an extension whose URL neither R4 nor a known profile defines is an error
   * (default: a warning; core-extensions.ts).
   */
  readonly strictExtensions?: boolean;
  /** SECURITY_CHECKS: a string with an HTML tag in it is an error (content-policies.ts). */
  readonly securityChecks?: boolean;
  /** REFUSE_EXAMPLE_URLS: a URL or reference in a reserved example domain is an error (content-policies.ts). */
  readonly refuseExampleUrls?: boolean;
}

/**
 * Structure validation against the base R4 definitions (elements, types, cardinality, invariants),
 * which loadConformance() has indexed into @medplum/core's schema registry.
 */
export function validateBaseStructure(resource: Resource): OperationOutcomeIssue[] {
  try {
    return validateResource(resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return err.outcome.issue ?? [];
    }
    throw err;
  }
}

function stripVersion(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

function issueKey(issue: OperationOutcomeIssue): string {
  return `${issue.severity}\u0000${issue.code}\u0000${issue.expression?.join(',')}\u0000${issue.details?.text}`;
}

/**
 * @medplum/core warns "Invalid reference: got \"urn:uuid:...\"" for a Bundle-local placeholder
 * reference (it takes everything before the first "/" as the resource type). Such references are
 * legal in transaction entries (https://hl7.org/fhir/R4/bundle.html#references) and are rewritten
 * by the server, so the warning is dropped.
 */
const PLACEHOLDER_REFERENCE_WARNING = /^Invalid reference: got "urn:(uuid|oid):/;

/** Reported by checkRepresentation (json-representation.ts) with the rule and a hint. */
const EMPTY_OBJECT = 'Invalid empty non-primitive value';

/** Drops issues that several profiles report identically (e.g. KS PCSP and the US Core profile it derives from). */
function dedupe(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    if (issue.severity === 'warning' && PLACEHOLDER_REFERENCE_WARNING.test(issue.details?.text ?? '')) {
      return false;
    }
    if (issue.details?.text === EMPTY_OBJECT) {
      return false;
    }
    const key = issueKey(issue);
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}

/** Validates against base R4 plus the applicable known profiles, with our gap checks on each. */
function validateWithProfiles(
  registry: ProfileRegistry,
  detection: KansasProfileDetection,
  resource: Resource,
  options: ValidationOptions & ResourceValidatorOptions = {},
): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const targets: string[] = [];
  if (options.onlyProfiles) {
    for (const url of options.onlyProfiles.map(stripVersion)) {
      if (registry.has(url)) {
        targets.push(url);
      } else {
        issues.push({
          severity: 'error',
          code: 'not-supported',
          details: { text: `Profile ${url} is not known to this server` },
          expression: ['Parameters.parameter.where(name = \'profile\')'],
        });
      }
    }
  } else {
    (resource.meta?.profile ?? []).forEach((raw, i) => {
      if (typeof raw !== 'string') {
        return; // a canonical that is not a string: reported by the structure check
      }
      const url = stripVersion(raw);
      if (registry.has(url)) {
        targets.push(url);
      } else {
        // Unknown profile: a warning, never a silent pass (issue 5).
        issues.push({
          severity: 'warning',
          code: 'not-supported',
          details: { text: `Profile ${url} is not known to this server; the resource was not validated against it` },
          expression: [`${resource.resourceType}.meta.profile[${i}]`],
        });
      }
    });
    for (const url of options.profiles ?? []) {
      targets.push(stripVersion(url));
    }
    if (options.validateKansasPlansWithoutMetaProfile !== false) {
      const detected = detection.detect(resource);
      if (detected) {
        targets.push(detected);
      }
    }
  }
  const unique = [...new Set(targets)].filter((url) => registry.has(url));
  if (unique.length === 0) {
    // Base R4 only: medplum structure + our binding and extension checks.
    const base = `http://hl7.org/fhir/StructureDefinition/${resource.resourceType}`;
    issues.push(...annotateMedplumIssues(validateBaseStructure(resource), base), ...registry.checkBase(resource));
  } else {
    // A profile snapshot contains the whole base definition, so base structure is included.
    for (const url of unique) {
      issues.push(...registry.validateAgainst(resource, url));
    }
  }
  return dedupe(issues);
}

/**
 * The validator over one Conformance: its profiles compiled once into a registry (and the Kansas
 * profile detection table read from them), held by the validator and by nothing else.
 */
export function createResourceValidator(conformance: Conformance, options: ResourceValidatorOptions = {}): ResourceValidator {
  const registry = compileProfileRegistry(conformance);
  const detection = compileKansasProfileDetection(conformance.kansas.profiles, registry);
  const definitions = compileCanonicalDefinitions(conformance, (url) => registry.has(url) || registry.extension(url) !== undefined);
  const extensionOptions: ExtensionCheckOptions = {
    isKnown: (url) => registry.extension(url) !== undefined,
    strict: options.strictExtensions === true,
  };
  const policyOptions = { securityChecks: options.securityChecks === true, refuseExampleUrls: options.refuseExampleUrls === true };
  return {
    validate: (resource, validationOptions) => {
      // Shape first: nothing below may read a value whose JSON shape is not the element's.
      // The same walk hands every extension list, uri and Attachment/Bundle to the checks that need
      // a value's type (core-extensions.ts, spec-rules.ts).
      const walkIssues: OperationOutcomeIssue[] = [];
      const specRules = specRuleVisitor(walkIssues, definitions);
      const policies = contentPolicyVisitor(policyOptions, walkIssues);
      const representation = checkRepresentation(resource, {
        extensions: (extensions, host) => checkExtensionList(extensions, host, extensionOptions, walkIssues),
        complex: specRules.complex,
        primitive: policies
          ? (...value) => {
            specRules.primitive?.(...value);
            policies.primitive?.(...value);
          }
          : specRules.primitive,
      });
      if (representation.blocking) {
        return representation.issues;
      }
      const issues = validateWithProfiles(registry, detection, resource, { ...options, ...validationOptions });
      return representation.issues.length === 0 && walkIssues.length === 0 ? issues : [...representation.issues, ...walkIssues, ...issues];
    },
    conformsToBase: (resource) => {
      // JSON representation and the R4 prose rules are base R4; extension definitions are not.
      const specIssues: OperationOutcomeIssue[] = [];
      const representation = checkRepresentation(resource, specRuleVisitor(specIssues, definitions));
      if (representation.issues.length > 0 || hasErrors(specIssues)) {
        return false;
      }
      return !hasErrors(validateBaseStructure(resource)) && !hasErrors(registry.checkBaseDefinitionOnly(resource));
    },
  };
}

export function hasErrors(issues: readonly OperationOutcomeIssue[]): boolean {
  return issues.some((issue) => issue.severity === 'error' || issue.severity === 'fatal');
}
