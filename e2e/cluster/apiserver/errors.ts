/**
 * API errors as the real kube-apiserver reports them: a `Status` object with `reason`, `code`
 * and `details.causes`. Handlers throw `ApiError`; the router turns it into the response body.
 */
import type { JsonObject } from './types.js';

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'Forbidden'
  | 'Gone'
  | 'Expired'
  | 'InternalError'
  | 'Timeout'
  | 'TooManyRequests';

/** metav1.StatusCause as the API server writes it (`reason`, `message`, `field`). */
export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

export class ApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): JsonObject {
    const s: JsonObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s['details'] = JSON.parse(JSON.stringify(this.details)) as JsonObject;
    return s;
  }
}

/** `group` is empty for the core group; `resource` is the plural (e.g. `configmaps`). */
export function qualified(resource: string, group: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

export function notFound(resource: string, group: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });
}

export function alreadyExists(resource: string, group: string, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, {
    name,
    group,
    kind: resource,
  });
}

export function conflict(resource: string, group: string, name: string, why: string): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, {
    name,
    group,
    kind: resource,
  });
}

export const STALE_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

/** 422 Invalid, with one cause per field like `field.ErrorList`. */
export function invalid(kind: string, group: string, name: string, causes: readonly StatusCause[]): ApiError {
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = list.length === 1 ? list[0]! : `[${list.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${qualifiedKind(kind, group)} "${name}" is invalid: ${summary}`, {
    name,
    group,
    kind,
    causes,
  });
}

function qualifiedKind(kind: string, group: string): string {
  return group === '' ? kind : `${kind}.${group}`;
}

export function badRequest(message: string, causes?: readonly StatusCause[]): ApiError {
  return new ApiError(400, 'BadRequest', message, causes ? { causes } : undefined);
}

export function gone(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}
