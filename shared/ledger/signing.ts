/**
 * Signed links: every event's hash is signed by the ledger writers with an asymmetric KMS key
 * (ECC_NIST_P256, SIGN_VERIFY) that only they may use, as CloudTrail signs its digest files. A
 * hash chain alone proves nothing against someone who can write the table: they can append an
 * event that hashes correctly and move the head. Without the private key they cannot sign it.
 *
 * What is signed: the event's `hash` as its 64 lowercase hex characters (ASCII), with
 * ECDSA_SHA_256 over the RAW message, so anyone holding the public key (KMS GetPublicKey, or
 * the PEM `mlops audit public-key` prints) can check a signature offline:
 * `printf %s "$HASH" | openssl dgst -sha256 -verify ledger.pem -signature sig.der`.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';

/** The only algorithm ledger signatures use. */
export const LEDGER_SIGNING_ALGORITHM = 'ECDSA_SHA_256';
/** The key spec the ledger's signing key must have. */
export const LEDGER_KEY_SPEC = 'ECC_NIST_P256';

/** The bytes that are signed for an event hash. */
export function signedMessage(hash: string): Uint8Array {
  return Buffer.from(hash, 'ascii');
}

/** Signs event hashes; the writers' side. */
export interface LedgerSigner {
  /** The signing key as the writers name it (an ARN, key ID or alias). */
  readonly keyId: string;
  /** The DER signature of `hash`, base64, and the key ARN KMS reports having used. */
  sign(hash: string): Promise<{ readonly signature: string; readonly keyArn: string }>;
}

/** Checks event signatures with the public key; the verifier's side. */
export interface SignatureChecker {
  /** ARN of the key whose public half this is; events must name it. */
  readonly keyArn: string;
  /** Whether `signature` (base64 DER) signs `hash` with this key. */
  check(hash: string, signature: string): boolean;
}

/** The signing key is missing, of the wrong kind, or not usable. */
export class SigningKeyError extends Error {
  override readonly name: string = 'SigningKeyError';
}

/** A signer that asks KMS (`kms:Sign`) for every signature. */
export function kmsSigner(kms: KMSClient, keyId: string): LedgerSigner {
  return {
    keyId,
    async sign(hash) {
      const out = await kms.send(
        new SignCommand({
          KeyId: keyId,
          Message: signedMessage(hash),
          MessageType: 'RAW',
          SigningAlgorithm: LEDGER_SIGNING_ALGORITHM,
        }),
      );
      if (!out.Signature || !out.KeyId)
        throw new SigningKeyError(`KMS Sign with ${keyId} returned no signature`);
      return { signature: Buffer.from(out.Signature).toString('base64'), keyArn: out.KeyId };
    },
  };
}

/** A checker from a public key (DER SubjectPublicKeyInfo or PEM). Pure: no call to KMS. */
export function publicKeyChecker(keyArn: string, publicKey: Uint8Array | string): SignatureChecker {
  const key: KeyObject =
    typeof publicKey === 'string'
      ? createPublicKey(publicKey)
      : createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SigningKeyError(`the ledger signing key ${keyArn} must be an ${LEDGER_KEY_SPEC} key`);
  }
  return {
    keyArn,
    check(hash, signature) {
      try {
        return verify('sha256', signedMessage(hash), key, Buffer.from(signature, 'base64'));
      } catch {
        // A signature that is not even DER is simply not a valid signature.
        return false;
      }
    },
  };
}

/** Fetches the public key once (`kms:GetPublicKey`) and checks signatures locally with it. */
export async function kmsSignatureChecker(kms: KMSClient, keyId: string): Promise<SignatureChecker> {
  const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (!out.PublicKey || !out.KeyId) throw new SigningKeyError(`KMS has no public key for ${keyId}`);
  if (out.KeySpec !== LEDGER_KEY_SPEC || out.KeyUsage !== 'SIGN_VERIFY') {
    throw new SigningKeyError(
      `the ledger signing key ${keyId} must be ${LEDGER_KEY_SPEC} with SIGN_VERIFY, got ${String(out.KeySpec)} with ${String(out.KeyUsage)}`,
    );
  }
  return publicKeyChecker(out.KeyId, out.PublicKey);
}

/** The public key as PEM, for auditors who verify offline. */
export function publicKeyPem(publicKey: Uint8Array): string {
  return createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' })
    .export({ format: 'pem', type: 'spki' })
    .toString();
}

/**
 * A checker fetched on first use and kept (one GetPublicKey per Lambda container); a failed
 * fetch is not kept, so the next call tries again.
 */
export function lazySignatureChecker(kms: KMSClient, keyId: string): () => Promise<SignatureChecker> {
  let checker: Promise<SignatureChecker> | undefined;
  return () => {
    checker ??= kmsSignatureChecker(kms, keyId).catch((e: unknown) => {
      checker = undefined;
      throw e;
    });
    return checker;
  };
}
