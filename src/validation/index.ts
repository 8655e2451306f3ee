/**
 * What the rest of kanplan uses from validation (issue 5):
 *  - createResourceValidator(options?)  -> ResourceValidator.validate(resource, options?) on every write
 *  - hasErrors(issues)                  -> reject the write when true
 *  - rejectionStatus(validator, r)      -> 400 (fails base R4) or 422 (fails only a profile)
 *  - loadKansasPackage()                -> every conformance resource in profiles/ (served, listed in the
 *                                          CapabilityStatement, SearchParameters for the search engine)
 *  - runValidateOperation(...)          -> $validate as a pure function
 *  - validateBundleEntries(validator, b) -> a Bundle and each entry's resource, located from the Bundle
 */
export { loadBaseDefinitions, isKnownResourceType, listResourceTypes } from '../conformance/base-definitions.ts';
export { KANSAS_CANONICAL_BASE, loadKansasPackage, type ConformanceResource, type KansasPackage } from '../conformance/kansas-package.ts';
export {
  createResourceValidator,
  detectKansasProfile,
  hasErrors,
  rejectionStatus,
  validateBaseStructure,
  type ResourceValidator,
  type ResourceValidatorOptions,
  type ValidationOptions,
} from './validator.ts';
export { runValidateOperation, type ValidateOperationInput } from './validate-operation.ts';
export { validateBundleEntries } from './validate-bundle.ts';
