import type { SqlExecutor } from '../../store/database.ts';
import { deleteUser, findUser, insertUser, listUsers } from '../../store/auth-registry.ts';
import { generatePassword, hashPassword, verifyPassword } from './passwords.ts';

/**
 * The people who sign in at the login page. Each acts as one FHIR resource, the `fhirUser` of
 * SMART (https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#scopes-for-requesting-identity-data):
 * a PractitionerRole (TCM, care coordinator, provider), a RelatedPerson (guardian) or a Patient
 * (the person).
 */
export interface UserAccount {
  readonly login: string;
  /** Relative reference, e.g. `PractitionerRole/example-tcm`. */
  readonly fhirUser: string;
}

export class UserRegistrationError extends Error {}

const FHIR_USER = /^(PractitionerRole|Practitioner|RelatedPerson|Patient|Person)\/[A-Za-z0-9\-.]{1,64}$/;
const LOGIN = /^[A-Za-z0-9._@-]{1,64}$/;

/** Adds a user; returns the password (generated when none is given, to be shown once). */
export async function addUser(sql: SqlExecutor, login: string, fhirUser: string, password?: string): Promise<{ user: UserAccount; password: string }> {
  if (!LOGIN.test(login)) throw new UserRegistrationError(`Login ${JSON.stringify(login)} is not valid: use 1 to 64 letters, digits, '.', '_', '@' or '-'.`);
  if (!FHIR_USER.test(fhirUser)) {
    throw new UserRegistrationError(`--fhir-user ${fhirUser} is not valid: expected PractitionerRole/ID, Practitioner/ID, RelatedPerson/ID, Patient/ID or Person/ID.`);
  }
  if (password !== undefined && password.length < 8) throw new UserRegistrationError('The password must have at least 8 characters.');
  const secret = password ?? generatePassword();
  if (!(await insertUser(sql, login, fhirUser, await hashPassword(secret)))) {
    throw new UserRegistrationError(`A user with login ${login} exists already.`);
  }
  return { user: { login, fhirUser }, password: secret };
}

/** The account when login and password match; undefined otherwise (without saying which was wrong). */
export async function authenticate(sql: SqlExecutor, login: string, password: string): Promise<UserAccount | undefined> {
  const user = await findUser(sql, login);
  // An unknown login costs a hash too, so timing does not tell which logins exist.
  const ok = await verifyPassword(password, user?.passwordHash ?? UNKNOWN_USER_HASH);
  return ok && user ? { login: user.login, fhirUser: user.fhirUser } : undefined;
}

const UNKNOWN_USER_HASH = '$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export async function findAccount(sql: SqlExecutor, login: string): Promise<UserAccount | undefined> {
  const user = await findUser(sql, login);
  return user && { login: user.login, fhirUser: user.fhirUser };
}

export async function listAccounts(sql: SqlExecutor): Promise<UserAccount[]> {
  return (await listUsers(sql)).map((user) => ({ login: user.login, fhirUser: user.fhirUser }));
}

export async function removeUser(sql: SqlExecutor, login: string): Promise<boolean> {
  return deleteUser(sql, login);
}
