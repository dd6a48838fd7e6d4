/** An error the SageMaker emulator returns in AWS's shape (`__type` and message). */
export class SageMakerApiError extends Error {
  override readonly name: string = 'SageMakerApiError';

  constructor(
    /** AWS error code, for example `ValidationException` or `ResourceNotFound`. */
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

/** A ValidationException, the error SageMaker returns for most bad or unknown names. */
export function validationError(message: string): SageMakerApiError {
  return new SageMakerApiError('ValidationException', message);
}
