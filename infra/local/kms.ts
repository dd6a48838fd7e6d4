/**
 * The local KMS emulator: the signing subset of the KMS API (AWS JSON 1.1,
 * `X-Amz-Target: TrentService.<Op>`) for the asymmetric keys a template declares. Sign, Verify,
 * GetPublicKey and DescribeKey; CreateKey for tests. Private keys never leave it: they live in
 * its data folder (one PKCS#8 PEM per key, so a restart keeps every signature verifiable), or in
 * memory for tests.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { AwsApiError, listenLocal, readBody, sendAwsJson, sendAwsJsonError } from './http.ts';
import type { LocalKmsKey, LocalPlacement } from './model.ts';

export interface KmsOptions {
  /** The template's keys; asymmetric ECC_NIST_P256 SIGN_VERIFY keys get key material. */
  readonly keys: readonly LocalKmsKey[];
  readonly placement: LocalPlacement;
  /** @default - a free port */
  readonly port?: number;
  /**
   * Folder that keeps the private keys across restarts.
   * @default - in memory, new keys every start (tests)
   */
  readonly dataDir?: string;
}

/** A running KMS emulator. */
export interface KmsEmulator {
  readonly endpoint: string;
  readonly port: number;
  readonly limitations: readonly string[];
  stop(): Promise<void>;
}

const SIGNING_SPEC = 'ECC_NIST_P256';
const SIGNING_ALGORITHM = 'ECDSA_SHA_256';
// KMS caps a RAW message at 4096 bytes.
const MAX_MESSAGE_BYTES = 4096;

interface KeyEntry {
  readonly arn: string;
  readonly keyId: string;
  readonly keySpec: string;
  readonly keyUsage: string;
  readonly privateKey?: KeyObject;
  readonly publicKey?: KeyObject;
}

class KmsError extends AwsApiError {
  override readonly name: string = 'KmsError';
}

function text(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') {
    throw new KmsError(
      'ValidationException',
      `1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

/** A blob member: base64 in the JSON protocol. */
function blob(body: Record<string, unknown>, name: string): Buffer {
  return Buffer.from(text(body, name), 'base64');
}

/** Loads the key pair kept under `dir`, or makes one and keeps it there. */
function keyPair(keyId: string, dir: string | undefined): { privateKey: KeyObject; publicKey: KeyObject } {
  const file = dir ? join(dir, `${keyId}.pem`) : undefined;
  if (file && existsSync(file)) {
    const privateKey = createPrivateKey(readFileSync(file, 'utf8'));
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  if (file) writeFileSync(file, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  return pair;
}

/** Starts the KMS emulator on 127.0.0.1. */
export async function startKms(options: KmsOptions): Promise<KmsEmulator> {
  const dir = options.dataDir;
  if (dir) mkdirSync(dir, { recursive: true });
  const keys = new Map<string, KeyEntry>();
  const add = (arn: string, keySpec: string, keyUsage: string) => {
    const keyId = arn.slice(arn.lastIndexOf('/') + 1);
    const material = keySpec === SIGNING_SPEC && keyUsage === 'SIGN_VERIFY' ? keyPair(keyId, dir) : {};
    const entry: KeyEntry = { arn, keyId, keySpec, keyUsage, ...material };
    keys.set(arn, entry);
    keys.set(keyId, entry);
    return entry;
  };
  for (const key of options.keys) add(key.arn, key.keySpec, key.keyUsage);
  let created = 0;

  const find = (body: Record<string, unknown>): KeyEntry => {
    const id = text(body, 'KeyId');
    const entry = keys.get(id);
    if (!entry) throw new KmsError('NotFoundException', `Key '${id}' does not exist`);
    return entry;
  };
  const signingKey = (body: Record<string, unknown>, op: string) => {
    const entry = find(body);
    if (!entry.privateKey || !entry.publicKey) {
      throw new KmsError(
        'InvalidKeyUsageException',
        `${op} is not valid for ${entry.arn}: its KeyUsage is ${entry.keyUsage} and its KeySpec ${entry.keySpec}`,
      );
    }
    const algorithm = text(body, 'SigningAlgorithm');
    if (algorithm !== SIGNING_ALGORITHM) {
      throw new KmsError(
        'InvalidKeyUsageException',
        `${algorithm} is not a valid signing algorithm for ${entry.arn}`,
      );
    }
    const messageType = body.MessageType ?? 'RAW';
    if (messageType !== 'RAW') {
      throw new KmsError('UnsupportedOperationException', 'The local KMS emulator signs RAW messages only.');
    }
    const message = blob(body, 'Message');
    if (message.length > MAX_MESSAGE_BYTES) {
      throw new KmsError(
        'ValidationException',
        `Message must be at most ${MAX_MESSAGE_BYTES} bytes, got ${message.length}`,
      );
    }
    return { entry, privateKey: entry.privateKey, publicKey: entry.publicKey, message };
  };
  const metadata = (e: KeyEntry) => ({
    KeyId: e.keyId,
    Arn: e.arn,
    AWSAccountId: options.placement.account,
    Enabled: true,
    KeyState: 'Enabled',
    KeyUsage: e.keyUsage,
    KeySpec: e.keySpec,
    CustomerMasterKeySpec: e.keySpec,
    KeyManager: 'CUSTOMER',
    Origin: 'AWS_KMS',
    ...(e.publicKey ? { SigningAlgorithms: [SIGNING_ALGORITHM] } : {}),
  });

  const operations: Readonly<Record<string, (body: Record<string, unknown>) => unknown>> = {
    Sign(body) {
      const { entry, privateKey, message } = signingKey(body, 'Sign');
      return {
        KeyId: entry.arn,
        Signature: sign('sha256', message, privateKey).toString('base64'),
        SigningAlgorithm: SIGNING_ALGORITHM,
      };
    },
    Verify(body) {
      const { entry, publicKey, message } = signingKey(body, 'Verify');
      let valid = false;
      try {
        valid = verify('sha256', message, publicKey, blob(body, 'Signature'));
      } catch {
        valid = false;
      }
      if (!valid) throw new KmsError('KMSInvalidSignatureException', 'The signature is not valid');
      return { KeyId: entry.arn, SignatureValid: true, SigningAlgorithm: SIGNING_ALGORITHM };
    },
    GetPublicKey(body) {
      const entry = find(body);
      if (!entry.publicKey) {
        throw new KmsError(
          'UnsupportedOperationException',
          `${entry.arn} is a symmetric key: it has no public key`,
        );
      }
      return {
        KeyId: entry.arn,
        PublicKey: entry.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
        KeySpec: entry.keySpec,
        CustomerMasterKeySpec: entry.keySpec,
        KeyUsage: entry.keyUsage,
        SigningAlgorithms: [SIGNING_ALGORITHM],
      };
    },
    DescribeKey: (body) => ({ KeyMetadata: metadata(find(body)) }),
    CreateKey(body) {
      const keySpec = body.KeySpec ?? 'SYMMETRIC_DEFAULT';
      const keyUsage = body.KeyUsage ?? 'ENCRYPT_DECRYPT';
      if (keySpec !== SIGNING_SPEC && keySpec !== 'SYMMETRIC_DEFAULT') {
        throw new KmsError(
          'UnsupportedOperationException',
          `The local KMS emulator does not create ${String(keySpec)} keys.`,
        );
      }
      created += 1;
      const keyId = `local-${process.pid}-${Date.now().toString(36)}-${created}`;
      const arn = `arn:aws:kms:${options.placement.region}:${options.placement.account}:key/${keyId}`;
      return { KeyMetadata: metadata(add(arn, String(keySpec), String(keyUsage))) };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const raw = await readBody(req);
    const op = target.startsWith('TrentService.')
      ? operations[target.slice('TrentService.'.length)]
      : undefined;
    if (req.method !== 'POST' || !op) {
      throw new KmsError(
        'UnknownOperationException',
        `The local KMS emulator does not implement ${target || `${req.method} ${req.url}`}.`,
      );
    }
    let body: unknown;
    try {
      body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
    } catch {
      throw new KmsError('SerializationException', 'The request body is not valid JSON.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new KmsError('SerializationException', 'The request body must be a JSON object.');
    }
    sendAwsJson(res, 200, op(body as Record<string, unknown>));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) =>
      sendAwsJsonError(
        res,
        e instanceof AwsApiError
          ? e
          : new KmsError(
              'KMSInternalException',
              'The request processing has failed because of an unknown error.',
              500,
            ),
      ),
    );
  });
  const { endpoint, port, close } = await listenLocal(server, options.port);
  return {
    endpoint,
    port,
    limitations: [
      'Sign, Verify, GetPublicKey and DescribeKey for ECC_NIST_P256 keys with ECDSA_SHA_256 over RAW messages; no encryption, aliases, grants or key policies.',
    ],
    stop: close,
  };
}
