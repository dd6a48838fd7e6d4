/**
 * The handler of a function triggered by an S3 "Object Created" event through EventBridge: the
 * base chain, and the bucket and (decoded) key handed to `body`.
 */
import * as z from 'zod';
import { baseChain } from './observability.ts';

/** The part of EventBridge's S3 "Object Created" event we use. */
const ObjectCreatedSchema = z.object({
  'detail-type': z.literal('Object Created'),
  detail: z.object({ bucket: z.object({ name: z.string() }), object: z.object({ key: z.string() }) }),
});

/** Wraps `body(bucket, key)` for an Object Created event. */
export function objectCreatedHandler<R>(body: (bucket: string, key: string) => Promise<R>) {
  return baseChain<unknown, R>().handler(async (raw: unknown): Promise<R> => {
    const event = ObjectCreatedSchema.parse(raw);
    // S3 event keys are URL-encoded, with '+' for spaces.
    const key = decodeURIComponent(event.detail.object.key.replace(/\+/g, ' '));
    return body(event.detail.bucket.name, key);
  });
}
