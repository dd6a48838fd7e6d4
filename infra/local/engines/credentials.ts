/**
 * Static credentials every local client and emulator uses. s3rver only knows the access key
 * `S3RVER` (secret `S3RVER`); DynamoDB Local and our emulators accept any, so all use this one.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
/** The account ID that local ARNs carry. */
export const LOCAL_ACCOUNT = '000000000000';
