import { tryGetDataType } from '@medplum/core';
import type { ElementRule } from './compiled-profile.ts';

/** Base R4 datatypes and backbone types as rules (bindings only; medplum checks the rest). */
export class BaseRules {
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
