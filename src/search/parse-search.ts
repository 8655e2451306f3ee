import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Conformance } from '../conformance/conformance.ts';
import { FhirError, badRequest } from '../outcomes.ts';
import type { Repository } from '../store/repository.ts';
import { combinationIndexesCurrent } from './combination-index.ts';
import { typesInCompartment } from './compartments.ts';
import { searchTarget, type ConditionContext, type SearchTarget } from './condition-target.ts';
import { buildCondition } from './conditions.ts';
import { checkContainedSearch } from './contained-search.ts';
import { parseInclude, type IncludeDirective } from './include.ts';
import type { ContainedSearch, ParsedSearch, SearchInput } from './search-request.ts';
import { parseSort } from './sort.ts';
import { SqlBuilder } from './sql.ts';
import type { SummaryMode } from './summary.ts';

/** Parameters that control the result rather than select resources (https://hl7.org/fhir/R4/search.html#return). */
export const RESULT_PARAMS = new Set(['_sort', '_count', '_total', '_summary', '_elements', '_contained', '_containedType', '_cursor', '_type', '_format', '_pretty']);

export function isIncludeName(name: string): boolean {
  return /^_(rev)?include(:.*)?$/.test(name);
}

/** Validates a filter by building it once into a throwaway builder (the real build happens per query). */
function checkFilter(ctx: ConditionContext, target: SearchTarget, name: string, value: string): void {
  buildCondition(ctx, target, name, value);
}

/**
 * Checks every parameter of a search and sorts it into filters and result parameters
 * (https://hl7.org/fhir/R4/search.html): a bad one is a 400, or with `lenient` a warning issue.
 */
function parseSearch(conformance: Conformance, input: SearchInput, target: SearchTarget): ParsedSearch {
  const issues: OperationOutcomeIssue[] = [];
  const applied: [string, string][] = [];
  const filters: [string, string][] = [];
  const includes: IncludeDirective[] = [];
  let sortText: string | undefined;
  let count = input.defaultPageSize;
  let total: ParsedSearch['total'] = 'default';
  let summary: SummaryMode = 'false';
  let elements: string[] | undefined;
  let cursorText: string | undefined;
  let contained: ContainedSearch = { match: 'false', returns: 'container' };
  for (const [name, value] of input.params) {
    try {
      if (name === '_format' || name === '_pretty' || name === '_type') {
        continue;
      }
      if (isIncludeName(name)) {
        includes.push(parseInclude(conformance, name, value));
      } else if (name === '_sort') {
        parseSort(new SqlBuilder(), conformance.searchParameters, target.resourceTypes, value);
        sortText = value;
      } else if (name === '_count') {
        if (!/^\d+$/.test(value)) {
          throw badRequest(`_count must be a whole number from 0 to ${input.maxPageSize}, not '${value}'.`, '_count');
        }
        count = Math.min(Number(value), input.maxPageSize);
        applied.push([name, String(count)]);
        continue;
      } else if (name === '_total') {
        if (value !== 'none' && value !== 'estimate' && value !== 'accurate') {
          throw badRequest(`_total must be none, estimate or accurate, not '${value}'.`, '_total');
        }
        total = value;
      } else if (name === '_summary') {
        if (!['true', 'false', 'text', 'data', 'count'].includes(value)) {
          throw badRequest(`_summary must be true, text, data, count or false, not '${value}'.`, '_summary');
        }
        summary = value as SummaryMode;
      } else if (name === '_elements') {
        elements = value.split(',').map((e) => e.trim()).filter(Boolean);
        if (!elements.length || elements.some((e) => !/^[A-Za-z][A-Za-z0-9]*$/.test(e))) {
          throw badRequest(`_elements takes a comma-separated list of top-level element names, not '${value}'.`, '_elements');
        }
      } else if (name === '_contained') {
        if (value !== 'false' && value !== 'true' && value !== 'both') {
          throw badRequest(`_contained must be false, true or both, not '${value}'.`, '_contained');
        }
        contained = { ...contained, match: value };
      } else if (name === '_containedType') {
        if (value !== 'container' && value !== 'contained') {
          throw badRequest(`_containedType must be container or contained, not '${value}'.`, '_containedType');
        }
        contained = { ...contained, returns: value };
      } else if (name === '_cursor') {
        cursorText = value;
        continue;
      } else if (RESULT_PARAMS.has(name)) {
        continue;
      } else {
        checkFilter({ q: new SqlBuilder(), baseUrl: input.baseUrl, conformance }, target, name, value);
        filters.push([name, value]);
      }
      applied.push([name, value]);
    } catch (err) {
      if (input.lenient && err instanceof FhirError && err.status === 400) {
        for (const i of err.outcome.issue ?? []) {
          issues.push({ ...i, severity: 'warning', diagnostics: `Ignored: ${i.diagnostics ?? ''}` });
        }
        continue;
      }
      throw err;
    }
  }
  if (contained.match !== 'false') {
    checkContainedSearch(input, target, sortText, includes, contained);
  }
  return { filters, sortText, count, total, summary, elements, includes, cursorText, contained, applied, issues, useCombinations: false };
}

/** The search's types and parsed parameters, and whether its type's combination indexes are current. */
export async function planSearch(conformance: Conformance, repo: Repository, input: SearchInput): Promise<{ target: SearchTarget; parsed: ParsedSearch }> {
  const { types: resolved, issues } = resolveTypes(conformance, input);
  const target = searchTarget(resolved);
  const parsed = parseSearch(conformance, input, target);
  const types = target.resourceTypes;
  const useCombinations =
    types.length === 1 && parsed.filters.length > 1 && (await combinationIndexesCurrent(conformance.searchParameters, repo, types[0]));
  return { target, parsed: { ...parsed, issues: [...issues, ...parsed.issues], useCombinations } };
}

/**
 * The types a search is over: its path's, `_type`'s, or every type (in the compartment). A type
 * in the path that cannot be searched there is a 400; a `_type` entry that is not an R4 type (or
 * not in the compartment) is a 400, or with `Prefer: handling=lenient` left out with a warning —
 * unless nothing is left to search (https://hl7.org/fhir/R4/search.html#errors).
 */
function resolveTypes(conformance: Conformance, input: SearchInput): { types: string[]; issues: OperationOutcomeIssue[] } {
  const issues: OperationOutcomeIssue[] = [];
  const compartment = input.compartment;
  const inCompartment = compartment ? new Set(typesInCompartment(conformance, compartment.resourceType)) : undefined;
  if (compartment && !conformance.searchParameters.compartmentTypes().includes(compartment.resourceType)) {
    throw badRequest(
      `${compartment.resourceType}/${compartment.id}/…: compartment search is answered for the ${conformance.searchParameters.compartmentTypes().join(', ')} compartment; search ${compartment.resourceType}'s resources by their reference parameters instead, e.g. ?participant=${compartment.resourceType}/${compartment.id}.`,
    );
  }
  const outside = (type: string): string => `${type} is not in the ${compartment?.resourceType} compartment (https://hl7.org/fhir/R4/compartmentdefinition-${compartment?.resourceType.toLowerCase()}.html); search it as ${type}?… instead.`;
  for (const type of input.resourceTypes) {
    if (inCompartment && !inCompartment.has(type)) {
      throw badRequest(outside(type));
    }
  }
  if (input.resourceTypes.length) {
    return { types: [...new Set(input.resourceTypes)], issues };
  }
  const fromParam = input.params.filter(([name]) => name === '_type').flatMap(([, value]) => value.split(',').map((t) => t.trim()));
  if (!fromParam.length) {
    // `Patient/123/*`: every type that can be in the compartment.
    return { types: inCompartment ? [...inCompartment] : [...conformance.resourceTypes.list()], issues };
  }
  const types: string[] = [];
  for (const type of fromParam) {
    let problem: string | undefined;
    if (!conformance.resourceTypes.isKnown(type)) {
      problem = type === '' ? `_type has an empty entry; give resource types separated by commas, e.g. _type=CarePlan,Goal.` : `_type: ${type} is not an R4 resource type (types are case-sensitive, e.g. CarePlan).`;
    } else if (inCompartment && !inCompartment.has(type)) {
      problem = `_type: ${outside(type)}`;
    }
    if (problem === undefined) {
      types.push(type);
    } else if (input.lenient) {
      issues.push({ severity: 'warning', code: 'not-supported', diagnostics: `Ignored: ${problem}`, expression: ['_type'] });
    } else {
      throw badRequest(problem, '_type');
    }
  }
  if (!types.length) {
    throw badRequest(`_type names no resource type that can be searched here (${fromParam.join(', ')}); give R4 resource types, e.g. _type=CarePlan,Goal.`, '_type');
  }
  return { types: [...new Set(types)], issues };
}
