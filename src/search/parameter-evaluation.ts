import { AsAtom, DotAtom, FhirPathAtom, IsAtom, SymbolAtom, UnionAtom, getTypedPropertyValueWithPath, removeDuplicates, type TypedValue } from '@medplum/core';

/** The parts of Medplum's FHIRPath atom interface evaluated here (@medplum/core fhirlexer/parse.ts). */
interface Atom {
  eval(context: AtomContext, input: TypedValue[]): TypedValue[];
  toString(): string;
}
interface AtomContext {
  parent?: AtomContext;
  variables: Record<string, TypedValue>;
}

/** An atom standing for values already evaluated, so an operator can be applied to them. */
const evaluated = (values: TypedValue[]): Atom => ({ eval: () => values, toString: () => '(evaluated)' });

/**
 * The FHIRPath of all search parameters of one resource, evaluated with the resource's element
 * lookups shared (issue 22: index extraction walked the resource once per parameter). An
 * Observation's ~30 parameters name `subject`, `code`, `effective`, `value` and `component`
 * again and again; each lookup (`getTypedPropertyValueWithPath`, the type schema's walk that
 * resolves choice types) now runs once per element of the resource.
 *
 * The result is the one Medplum's evaluator gives (https://hl7.org/fhirpath/N1/#path-selection):
 * path selection (`.`, symbols), `|` and the `as` / `is` operators are evaluated here exactly as
 * in @medplum/core's atoms.ts; every other atom (functions such as `where(resolve() is Patient)`,
 * literals, comparisons) by Medplum itself on the values selected here. An expression that fails
 * indexes nothing, as before. One instance per resource: the lookups hold the resource's values.
 */
export class ParameterEvaluation {
  private readonly lookups = new WeakMap<TypedValue, Map<string, TypedValue[]>>();

  /** `expression` on `input`, as `evalFhirPathTyped(expression, input, variables)` answers it. */
  evaluate(expression: FhirPathAtom, input: TypedValue[], variables: Record<string, TypedValue> = {}): TypedValue[] {
    try {
      return this.eval(expression, { variables }, input).map((v) => ({ ...('path' in v ? { path: v.path } : {}), type: v.type, value: v.value?.valueOf() }));
    } catch {
      // An expression the FHIRPath engine cannot evaluate on this resource indexes nothing.
      return [];
    }
  }

  private eval(atom: Atom, context: AtomContext, input: TypedValue[]): TypedValue[] {
    if (atom instanceof FhirPathAtom) {
      if (input.length === 0) return this.eval(atom.child, context, []);
      return input.flatMap((e) => this.eval(atom.child, { parent: context, variables: { $this: e } }, [e]));
    }
    if (atom instanceof DotAtom) {
      return this.eval(atom.right, context, this.eval(atom.left, context, input));
    }
    if (atom instanceof SymbolAtom) {
      return this.symbol(atom.name, context, input);
    }
    if (atom instanceof UnionAtom) {
      return removeDuplicates([...this.eval(atom.left, context, input), ...this.eval(atom.right, context, input)]);
    }
    if (atom instanceof AsAtom) {
      return new AsAtom(evaluated(this.eval(atom.left, context, input)), atom.right).eval(context, input);
    }
    if (atom instanceof IsAtom) {
      return new IsAtom(evaluated(this.eval(atom.left, context, input)), atom.right).eval(context, input);
    }
    return atom.eval(context, input);
  }

  /** SymbolAtom.eval of @medplum/core: `$this`, a variable, the resource by its type, or an element. */
  private symbol(name: string, context: AtomContext, input: TypedValue[]): TypedValue[] {
    if (name === '$this') return input;
    // Variables are named with `%` or `$` (%resource, %rootResource, $this, $index, $total).
    if (name[0] === '%' || name[0] === '$') {
      for (let scope: AtomContext | undefined = context; scope; scope = scope.parent) {
        const value = scope.variables[name];
        if (value !== undefined) return [value];
      }
      if (name[0] === '%') throw new Error(`Undefined variable ${name}`);
    }
    if (input.length === 1) return this.element(input[0], name);
    const out: TypedValue[] = [];
    for (const e of input) out.push(...this.element(e, name));
    return out;
  }

  private element(typed: TypedValue, name: string): TypedValue[] {
    const value = typed.value as unknown;
    if (!value || typeof value !== 'object') return [];
    if ((value as { resourceType?: unknown }).resourceType === name) {
      if (!('path' in typed)) (typed as TypedValue & { path: string }).path = name;
      return [typed];
    }
    let byName = this.lookups.get(typed);
    if (!byName) {
      byName = new Map();
      this.lookups.set(typed, byName);
    }
    let found = byName.get(name);
    if (!found) {
      found = [getTypedPropertyValueWithPath(typed, name)].flat().filter((e) => e?.value !== undefined);
      byName.set(name, found);
    }
    // A copy: Medplum's functions get it as their input.
    return found.slice();
  }
}
