/**
 * The bind parameters of one statement. Every value a query needs goes through `add`, which returns its
 * placeholder (`$1`, `$2`, …): values travel beside the SQL text, never inside it.
 *
 * Postgres infers a parameter's type from where it is used and cannot always do so (`$1 IS NULL`, `jsonb -> $1`,
 * `$1 = ANY(...)`); the SQL that uses a placeholder should therefore cast it explicitly (`$1::text`,
 * `$2::timestamptz`, `$3::jsonb`, `$4::text[]`).
 *
 * `startAt` lets a fragment be numbered after parameters the surrounding statement already uses.
 */
export class SqlParams {
  readonly #values: unknown[] = [];
  readonly #startAt: number;

  constructor(startAt = 1) {
    if (!Number.isSafeInteger(startAt) || startAt < 1) {
      throw new RangeError(`SqlParams: startAt must be a positive integer, got ${String(startAt)}`);
    }
    this.#startAt = startAt;
  }

  /** Binds `value` and returns its placeholder, `$n`. */
  add(value: unknown): string {
    this.#values.push(value);
    return `$${this.#startAt + this.#values.length - 1}`;
  }

  /** The values bound so far, in placeholder order (a copy). */
  get values(): unknown[] {
    return [...this.#values];
  }
}
