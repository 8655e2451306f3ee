import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { loadBaseDefinitions } from '../conformance/base-definitions.ts';
import { KANSAS_CANONICAL_BASE } from '../conformance/kansas-package.ts';
import { annotateMedplumIssues, getProfileRegistry, type ProfileRegistry } from './profile-registry.ts';

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
   * a Task with a ks-task-type code, ...) are validated against their Kansas profile even when
   * meta.profile does not name it (issue 5). Default true.
   */
  readonly validateKansasPlansWithoutMetaProfile?: boolean;
}

/** Structure validation against the base R4 definitions: elements, types, cardinality, invariants. */
export function validateBaseStructure(resource: Resource): OperationOutcomeIssue[] {
  loadBaseDefinitions();
  try {
    return validateResource(resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return err.outcome.issue ?? [];
    }
    throw err;
  }
}

const SD = `${KANSAS_CANONICAL_BASE}/StructureDefinition/`;
const CS = `${KANSAS_CANONICAL_BASE}/CodeSystem/`;

const PLAN_TYPE_PROFILES: Record<string, string> = {
  pcsp: `${SD}ks-pcsp-careplan`,
  bsp: `${SD}ks-bsp-careplan`,
  isp: `${SD}ks-isp-careplan`,
  'backup-plan': `${SD}ks-backup-plan-careplan`,
};

interface CodingLike {
  system?: string;
  code?: string;
}

function codings(value: unknown): CodingLike[] {
  const list = (value as { coding?: unknown } | undefined)?.coding;
  return Array.isArray(list) ? (list as CodingLike[]) : [];
}

/**
 * The Kansas profile a resource evidently claims by its content, when meta.profile is silent:
 * the plan type category of a CarePlan, the Kansas task type of a Task, the Kansas result code of
 * an assessment Observation, the authorization-number identifier of a ServiceRequest.
 */
export function detectKansasProfile(resource: Resource): string | undefined {
  switch (resource.resourceType) {
    case 'CarePlan': {
      for (const category of resource.category ?? []) {
        for (const c of codings(category)) {
          if (c.system === `${CS}ks-plan-type` && c.code && PLAN_TYPE_PROFILES[c.code]) {
            return PLAN_TYPE_PROFILES[c.code];
          }
        }
      }
      return undefined;
    }
    case 'Task':
      return codings(resource.code).some((c) => c.system === `${CS}ks-task-type`) ? `${SD}ks-workflow-task` : undefined;
    case 'Observation':
      return codings(resource.code).some((c) => c.system === `${CS}ks-functional-assessment-result`)
        ? `${SD}ks-functional-assessment`
        : undefined;
    case 'ServiceRequest':
      return (resource.identifier ?? []).some((id) =>
        codings(id.type).some((c) => c.system === `${CS}ks-identifier-type` && c.code === 'authorization-number'),
      )
        ? `${SD}ks-authorized-service`
        : undefined;
    default:
      return undefined;
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

/** Drops issues that several profiles report identically (e.g. KS PCSP and the US Core profile it derives from). */
function dedupe(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    if (issue.severity === 'warning' && PLACEHOLDER_REFERENCE_WARNING.test(issue.details?.text ?? '')) {
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
export function validateWithProfiles(
  registry: ProfileRegistry,
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
      const detected = detectKansasProfile(resource);
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

export function createResourceValidator(options: ResourceValidatorOptions = {}): ResourceValidator {
  loadBaseDefinitions();
  const registry = getProfileRegistry();
  return {
    validate: (resource, validationOptions) => validateWithProfiles(registry, resource, { ...options, ...validationOptions }),
    conformsToBase: (resource) =>
      !hasErrors(validateBaseStructure(resource)) && !hasErrors(registry.checkBaseDefinitionOnly(resource)),
  };
}

export function hasErrors(issues: readonly OperationOutcomeIssue[]): boolean {
  return issues.some((issue) => issue.severity === 'error' || issue.severity === 'fatal');
}
