import type { Resource } from '@medplum/fhirtypes';
import { badRequest } from '../../outcomes.ts';

/** https://hl7.org/fhir/R4/datatypes.html#id */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function assertValidId(id: string, where = 'id'): void {
  if (!FHIR_ID.test(id)) {
    throw badRequest(
      `${JSON.stringify(id.slice(0, 80))} is not a valid FHIR id: use 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'.`,
      where,
    );
  }
}

/**
 * Checks that a request body is a resource of the type the URL names (and, for PUT, with the
 * URL's id), per https://hl7.org/fhir/R4/http.html#update. Returns it typed.
 */
export function expectResourceBody(body: unknown, resourceType: string, id?: string): Resource {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(`The request body must be a ${resourceType} resource (a JSON object).`);
  }
  const resource = body as Partial<Resource>;
  if (resource.resourceType !== resourceType) {
    throw badRequest(
      resource.resourceType === undefined
        ? `The body has no resourceType; expected "resourceType": "${resourceType}".`
        : `The body's resourceType is ${JSON.stringify(resource.resourceType)} but the URL is for ${resourceType}.`,
      `${resourceType}.resourceType`,
    );
  }
  if (id !== undefined) {
    if (resource.id === undefined) {
      throw badRequest(`The body has no id; an update must carry the id from the URL ("id": "${id}").`, `${resourceType}.id`);
    }
    if (resource.id !== id) {
      throw badRequest(
        `The body's id ${JSON.stringify(resource.id)} does not match the id in the URL (${id}).`,
        `${resourceType}.id`,
      );
    }
  }
  return resource as Resource;
}
