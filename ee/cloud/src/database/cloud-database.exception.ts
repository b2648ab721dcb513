/* @license Enterprise */

/** Why the cloud edition's database cannot be used: each is a deployment mistake, reported at boot. */
export enum CloudDatabaseExceptionCode {
  /** The cloud edition has no embedded database: tenants share one server, which DATABASE_URL names. */
  SERVER_DATABASE_REQUIRED = 'SERVER_DATABASE_REQUIRED',
  /** Request traffic would run as a role that row-level security does not hold (superuser, BYPASSRLS, owner). */
  REQUEST_ROLE_NOT_RESTRICTED = 'REQUEST_ROLE_NOT_RESTRICTED',
  /** Request traffic's role lacks a privilege it needs on a table. */
  REQUEST_ROLE_MISSING_PRIVILEGE = 'REQUEST_ROLE_MISSING_PRIVILEGE',
}

export class CloudDatabaseException extends Error {
  constructor(
    readonly code: CloudDatabaseExceptionCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CloudDatabaseException';
  }
}
