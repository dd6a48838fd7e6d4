import {
  CreateTopicCommand,
  ListTopicsCommand,
  PublishCommand,
  SNSClient,
  SNSServiceException,
} from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { type SnsSink, startSns } from '../../../infra/local/sns.ts';

describe('local SNS sink', () => {
  let sns: SnsSink;
  let strict: SnsSink;
  const client = (endpoint: string) =>
    new SNSClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });

  beforeAll(async () => {
    sns = await startSns();
    strict = await startSns({ strictTopics: true });
  });
  afterAll(async () => {
    await sns?.stop();
    await strict?.stop();
  });

  it('creates and lists topics with the real SNS client', async () => {
    // Act
    const created = await client(sns.endpoint).send(new CreateTopicCommand({ Name: 'alerts' }));
    const listed = await client(sns.endpoint).send(new ListTopicsCommand({}));

    // Assess
    expect(created.TopicArn).toBe('arn:aws:sns:us-east-1:000000000000:alerts');
    expect(listed.Topics?.map((t) => t.TopicArn)).toContain(created.TopicArn);
  });

  it('records published messages per topic and returns their MessageId', async () => {
    // Prepare
    const a = 'arn:aws:sns:us-east-1:000000000000:a';
    const b = 'arn:aws:sns:us-east-1:000000000000:b';

    // Act
    const first = await client(sns.endpoint).send(
      new PublishCommand({ TopicArn: a, Message: 'hello & <bye>', Subject: 'greeting' }),
    );
    await client(sns.endpoint).send(new PublishCommand({ TopicArn: b, Message: '{"n":1}' }));

    // Assess
    expect(first.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sns.messages(a)).toEqual([
      expect.objectContaining({
        topicArn: a,
        subject: 'greeting',
        message: 'hello & <bye>',
        messageId: first.MessageId,
      }),
    ]);
    expect(sns.messages(b).map((m) => m.message)).toEqual(['{"n":1}']);
    expect(sns.messages().length).toBeGreaterThanOrEqual(2);
  });

  it('rejects a publish without a message, and an unknown topic in strict mode, with AWS error codes', async () => {
    // Act
    const missing = client(sns.endpoint).send(
      new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:a', Message: '' }),
    );
    const unknown = client(strict.endpoint).send(
      new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:nope', Message: 'x' }),
    );

    // Assess
    await expect(missing).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(unknown).rejects.toBeInstanceOf(SNSServiceException);
    await expect(unknown).rejects.toMatchObject({ name: 'NotFoundException' });
    expect(strict.messages()).toEqual([]);
  });
});
