import { AwsApiError } from '../http.ts';

/** An error the SageMaker emulator returns in AWS's shape (`__type` and message). */
export class SageMakerApiError extends AwsApiError {
  override readonly name: string = 'SageMakerApiError';
}

/** A ValidationException, the error SageMaker returns for most bad or unknown names. */
export function validationError(message: string): SageMakerApiError {
  return new SageMakerApiError('ValidationException', message);
}
