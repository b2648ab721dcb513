import { v7, validate, version } from 'uuid';

/** Memory ids are uuid v7: time-ordered, so "newest first" is "highest id first" and index-friendly. */
export function newId(): string {
  return v7();
}

export function isUuid(value: string): boolean {
  return validate(value) && version(value) >= 1;
}
