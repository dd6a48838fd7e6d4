/** Errors of the local CloudWatch API, in the shape the AWS JSON 1.0 protocol with query compatibility carries. */
import { AwsApiError } from '../http.ts';

/** The awsQuery error codes (x-amzn-query-error) of CloudWatch's error shapes. */
const QUERY_CODES: Readonly<Record<string, readonly [code: string, fault: 'Sender' | 'Receiver']>> = {
  ResourceNotFound: ['ResourceNotFound', 'Sender'],
  InvalidParameterValueException: ['InvalidParameterValue', 'Sender'],
  InvalidParameterCombinationException: ['InvalidParameterCombination', 'Sender'],
  MissingRequiredParameterException: ['MissingParameter', 'Sender'],
  InvalidNextToken: ['InvalidNextToken', 'Sender'],
  InvalidFormatFault: ['InvalidFormat', 'Sender'],
  InternalServiceFault: ['InternalServiceError', 'Receiver'],
};

/** An error the local CloudWatch returns; `code` is the error shape's name (`ResourceNotFound`...). */
export class CloudWatchApiError extends AwsApiError {
  override readonly name: string = 'CloudWatchApiError';

  /** The `x-amzn-query-error` header value, which query-compatible SDKs read the classic code from. */
  get queryError(): string {
    const [code, fault] = QUERY_CODES[this.code] ?? [
      this.code,
      this.statusCode >= 500 ? 'Receiver' : 'Sender',
    ];
    return `${code};${fault}`;
  }
}

/** An InvalidParameterValue error. */
export function invalidParameter(message: string): CloudWatchApiError {
  return new CloudWatchApiError('InvalidParameterValueException', message);
}
