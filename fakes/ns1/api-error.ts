/**
 * Errors the fake NS1 answers with: JSON `{"message": "..."}` and an HTTP status, as NS1 does.
 * The 404 texts and the "already exists" texts are NS1's own (clients compare them exactly); the
 * validation texts follow NS1's `Input validation failed (...)` form, whose inner wording is only
 * known for null arrays and objects (docs/fake-ns1.md lists what is guessed).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export class Ns1ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'Ns1ApiError';
  }
}

export const zoneNotFound = (): Ns1ApiError => new Ns1ApiError(404, 'zone not found');
export const recordNotFound = (): Ns1ApiError => new Ns1ApiError(404, 'record not found');
export const zoneExists = (): Ns1ApiError => new Ns1ApiError(400, 'zone already exists');
export const recordExists = (): Ns1ApiError => new Ns1ApiError(400, 'record already exists');
export const unauthorized = (): Ns1ApiError => new Ns1ApiError(401, 'Unauthorized');
export const rateLimitExceeded = (): Ns1ApiError => new Ns1ApiError(429, 'rate limit exceeded');
export const internalError = (): Ns1ApiError => new Ns1ApiError(500, 'internal error');

/** 400 `Input validation failed (<detail>)`. */
export function validationFailed(detail: string): Ns1ApiError {
  return new Ns1ApiError(400, `Input validation failed (${detail})`);
}

/**
 * A value as NS1's (Python) validator prints it: None, True, False, 'text', numbers as is.
 * Arrays and objects come out in JSON, which is close enough to Python's repr for messages.
 */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

/** `Value <v> for field '<path>' is not of type <kind>`: the wording recorded for null arrays/objects. */
export function wrongType(path: string, value: unknown, kind: string): Ns1ApiError {
  return validationFailed(`Value ${pyRepr(value)} for field '${path}' is not of type ${kind}`);
}

/** `Value <v> for field '<path>' <problem>`: the same shape for other problems. */
export function badValue(path: string, value: unknown, problem: string): Ns1ApiError {
  return validationFailed(`Value ${pyRepr(value)} for field '${path}' ${problem}`);
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
