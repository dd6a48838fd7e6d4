/**
 * Domain error classes shared by every feature. The API edge maps them to HTTP with `instanceof`
 * (never by comparing names), so a new error only has to extend the right base class.
 */

/** The caller asked for something that does not exist (HTTP 404). */
export class NotFoundError extends Error {
  override readonly name: string = 'NotFoundError';
}

/** The caller's input is invalid; `problems` names each bad field (HTTP 400). */
export class InvalidInputError extends Error {
  override readonly name: string = 'InvalidInputError';
  /** One entry per bad field, in the shape of `shared/validation.ts`. */
  readonly problems: readonly { readonly field: string; readonly problem: string; readonly got?: string }[];

  constructor(
    message: string,
    problems: readonly { readonly field: string; readonly problem: string; readonly got?: string }[] = [],
  ) {
    super(message);
    this.problems = problems;
  }
}

/** The caller is not allowed to do this, or could not be identified (HTTP 403). */
export class ForbiddenError extends Error {
  override readonly name: string = 'ForbiddenError';
}

/** A dependency is too busy right now; the same request is safe to retry later (HTTP 503). */
export class ServiceUnavailableError extends Error {
  override readonly name: string = 'ServiceUnavailableError';
}

/** The request conflicts with what is already recorded (HTTP 409). */
export class ConflictError extends Error {
  override readonly name: string = 'ConflictError';
}
