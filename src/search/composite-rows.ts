import type { TypedValue } from '@medplum/core';
import { COMPOSITE_KEY_TYPES, COMPOSITE_RANGE_TYPES, type CompositeComponent, type SearchParamDef } from '../conformance/search-parameter-definition.ts';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { dateRowsOf, emptyRows, numberRowsOf, quantityRowsOf, referenceRowsOf, stringRowsOf, tokenRowsOf, uriRowsOf, type IndexRows } from './index-rows.ts';

/** The search-form strings of one key component value, as the composite query side builds them. */
function componentKeys(def: SearchParamDef, tv: TypedValue): string[] {
  const rows = emptyRows();
  switch (def.type) {
    case 'token':
      tokenRowsOf('c', tv, rows);
      return rows.token.flatMap(([, system, value]) => (value === null ? [] : [value, `${system ?? ''}|${value}`]));
    case 'string':
      stringRowsOf('c', tv, rows);
      return rows.string.map(([, norm]) => norm);
    case 'reference':
      referenceRowsOf('c', tv, rows);
      return rows.reference.map(([, t, id, url]) => (t ? `${t}/${id}` : (url ?? '')));
    case 'uri':
      uriRowsOf('c', tv, rows);
      return rows.uri.map(([, v]) => v);
    default:
      return [];
  }
}

type RangeColumns = [num: string | null, system: string | null, unitCode: string | null, unit: string | null, low: string | null, high: string | null];

/** The range columns of the last component's values (quantity, number or date). */
function componentRanges(def: SearchParamDef, tv: TypedValue): RangeColumns[] {
  const rows = emptyRows();
  switch (def.type) {
    case 'quantity':
      quantityRowsOf('c', tv, rows);
      return rows.quantity.map(([, value, system, unitCode, unit]) => [value, system, unitCode, unit, null, null]);
    case 'number':
      numberRowsOf('c', tv, rows);
      return rows.number.map(([, value]) => [value, null, null, null, null, null]);
    case 'date':
      dateRowsOf('c', tv, rows);
      return rows.date.map(([, low, high]) => [null, null, null, null, low, high]);
    default:
      return [];
  }
}

/** The values of one component of a composite: its own parameter's definition and the typed values. */
export type ComponentValues = (component: CompositeComponent, componentDef: SearchParamDef) => TypedValue[];

/**
 * Composite rows (https://hl7.org/fhir/R4/search.html#composite): every combination of the key
 * components' values, times the values of a final quantity/number/date component if there is one.
 * Components are evaluated on each value of the composite's own expression, so they pair up
 * within one element (e.g. one Observation.component); the components of a combination index
 * are evaluated with their own parameters' expressions on the whole resource instead, so its rows
 * hold exactly the values the separate parameters index.
 */
export function compositeRowsOf(parameters: SearchParameterRegistry, resourceType: string, def: SearchParamDef, valuesOf: ComponentValues, rows: IndexRows): void {
  let combos: string[] = [''];
  let ranges: RangeColumns[] = [[null, null, null, null, null, null]];
  for (const [i, component] of def.components.entries()) {
    const componentDef = parameters.paramByUrl(resourceType, component.definition);
    if (!componentDef) {
      return;
    }
    const values = valuesOf(component, componentDef);
    const last = i === def.components.length - 1;
    if (last && COMPOSITE_RANGE_TYPES.has(componentDef.type)) {
      const found = values.flatMap((value) => componentRanges(componentDef, value));
      // A combination index's range is optional: a resource without the value keeps one row with
      // empty range columns, so the combination answers its key parameters alone too
      // (search/combination-index.ts). No range prefix matches an empty range (NULL comparisons),
      // so the row is never a match of the composite searched with a range.
      ranges = found.length || !def.combination ? found : ranges;
    } else if (COMPOSITE_KEY_TYPES.has(componentDef.type)) {
      const keys = [...new Set(values.flatMap((value) => componentKeys(componentDef, value)))];
      combos = combos.flatMap((prefix) => keys.map((k) => (prefix ? `${prefix}$${k}` : k)));
    } else {
      return; // e.g. MolecularSequence token$number$number: not indexed (and rejected when searched)
    }
  }
  for (const combo of combos) {
    for (const range of ranges) {
      rows.composite.push([def.code, combo, ...range]);
    }
  }
}
