import { describe, expect, it } from 'vitest';
import { KANSAS_CANONICAL_BASE, loadKansasPackage, type KansasPackage } from '../../../src/conformance/kansas-package.ts';
import { createOperations } from '../../../src/fhir/operations/registry.ts';

describe('operation registry', () => {
  const kansas = loadKansasPackage();

  it("pairs kanplan's own operations with the OperationDefinitions of the Kansas package, by canonical URL", () => {
    const operations = createOperations(kansas);
    for (const code of ['import-document', 'document', 'render']) {
      const operation = operations.find((op) => op.definition.code === code);
      const packaged = kansas.operationDefinitions.find((d) => d.url === `${KANSAS_CANONICAL_BASE}/OperationDefinition/CarePlan-${code}`);
      expect(packaged, code).toBeDefined();
      expect(operation?.definition, code).toBe(packaged);
    }
    expect(operations.map((op) => op.definition.code)).toEqual(['validate', 'expand', 'validate-code', 'lookup', 'status', 'events', 'import-document', 'document', 'render', 'everything', 'export', 'export', 'export']);
  });

  it('refuses to start without the definition of an operation it has code for', () => {
    const withoutRender: KansasPackage = { ...kansas, operationDefinitions: kansas.operationDefinitions.filter((d) => d.code !== 'render') };
    expect(() => createOperations(withoutRender)).toThrow(`${KANSAS_CANONICAL_BASE}/OperationDefinition/CarePlan-render`);
  });
});
