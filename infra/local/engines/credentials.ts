/** Static credentials every local client and emulator uses; the emulators accept any signed request. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'LOCAL', secretAccessKey: 'LOCALSECRET' } as const;
/** The account ID that local ARNs carry. */
export const LOCAL_ACCOUNT = '000000000000';
