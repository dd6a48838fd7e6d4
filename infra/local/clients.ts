/** AWS SDK clients bound to the local emulators, with the settings each emulator needs. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS } from './engines/credentials.ts';

/** An S3 client for s3rver: path-style, and no default CRC32 checksums (s3rver predates them). */
export function localS3Client(endpoint: string, region = 'us-east-1'): S3Client {
  return new S3Client({
    endpoint,
    region,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A DynamoDB document client for DynamoDB Local. */
export function localDocumentClient(endpoint: string, region = 'us-east-1'): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region, credentials: LOCAL_CREDENTIALS }),
  );
}
