/**
 * What the rest of kanplan uses from validation (issue 5):
 *  - createResourceValidator(conformance, options?) -> ResourceValidator.validate(resource, options?) on every write
 *  - hasErrors(issues)                  -> reject the write when true
 *  - rejectionStatus(validator, r)      -> 400 (fails base R4) or 422 (fails only a profile)
 *  - runValidateOperation(...)          -> $validate as a pure function
 *  - validateBundleEntries(validator, b) -> a Bundle and each entry's resource, located from the Bundle
 * The conformance resources it validates against (base definitions, the Kansas package,
 * terminology) come from src/conformance/ (loadConformance).
 */
export {
  createResourceValidator,
  hasErrors,
  rejectionStatus,
  validateBaseStructure,
  type ResourceValidator,
  type ResourceValidatorOptions,
  type ValidationOptions,
} from './validator.ts';
export { compileKansasProfileDetection, type KansasProfileDetection } from './profile-detection.ts';
export { runValidateOperation, type ValidateOperationInput } from './validate-operation.ts';
export { validateBundleEntries } from './validate-bundle.ts';
