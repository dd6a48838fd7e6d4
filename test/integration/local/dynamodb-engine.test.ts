/** Start-up failures of DynamoDB Local: it must fail fast, never hang. */
import { describe, expect, it } from 'vitest';
import { javaMajorVersion, startDynamoDb } from '../../../infra/local/engines/dynamodb.ts';

const hasJava17 = (javaMajorVersion() ?? 0) >= 17;

describe.skipIf(!hasJava17)('DynamoDB Local start-up', () => {
  it('fails as soon as java exits instead of polling until the deadline', async () => {
    // Prepare: DynamoDB Local prints "Invalid Port" and exits for a port above 65535
    const started = Date.now();
    // Act
    const starting = startDynamoDb({ port: 70_000, engine: 'dynamodb-local' });
    // Assess
    await expect(starting).rejects.toThrow(/DynamoDB Local exited during start-up/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
