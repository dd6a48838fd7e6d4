/** Errors of the local Step Functions service: API errors for callers, task errors for Retry/Catch. */
import { AwsApiError } from '../http.ts';

/** An error returned to API callers in AWS's shape (`__type`, `message`). */
export class SfnApiError extends AwsApiError {
  override readonly name: string = 'SfnApiError';
}

/**
 * A task failure as the state machine sees it: `name` is the ASL error name that Retry and Catch
 * match (`TransientError`, `States.TaskFailed`, `SageMaker.AmazonSageMakerException`...) and
 * `message` is the cause.
 */
export class StatesTaskError extends Error {
  constructor(errorName: string, cause: string) {
    super(cause);
    this.name = errorName;
  }
}
