/**
 * A tiny SNS sink for the local cloud: it speaks the SNS query protocol (form-encoded POST, XML
 * responses) for Publish, CreateTopic and ListTopics, and records what was published per topic.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { LOCAL_ACCOUNT } from './engines/credentials.ts';
import { listenLocal, readBody } from './http.ts';

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

export interface SnsOptions {
  /** @default - a free port */
  readonly port?: number;
  /** Region used in the ARNs of topics created through CreateTopic. @default 'us-east-1' */
  readonly region?: string;
  /**
   * Reject Publish to a topic nobody created with CreateTopic (NotFound), as AWS does.
   * @default false - any well-formed topic ARN is accepted, because the provisioner may not create topics
   */
  readonly strictTopics?: boolean;
}

/** One message received by the sink. */
export interface SnsMessage {
  readonly topicArn: string;
  readonly messageId: string;
  readonly subject?: string;
  readonly message: string;
  readonly timestamp: Date;
}

/** A running SNS sink. */
export interface SnsSink {
  readonly endpoint: string;
  readonly port: number;
  /** Messages published so far, oldest first, optionally for one topic only. */
  messages(topicArn?: string): SnsMessage[];
  stop(): Promise<void>;
}

class SnsQueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'SnsQueryError';
  }
}

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
  res.end(`<?xml version="1.0"?>\n${xml}`);
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') {
    throw new SnsQueryError('InvalidParameter', `Invalid parameter: ${name} is required`);
  }
  return value;
}

/** Starts the SNS sink on 127.0.0.1. */
export async function startSns(options: SnsOptions = {}): Promise<SnsSink> {
  const region = options.region ?? 'us-east-1';
  const topics = new Set<string>();
  const received: SnsMessage[] = [];

  const handle = (action: string, params: URLSearchParams): string => {
    const requestId = randomUUID();
    const meta = `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>`;
    switch (action) {
      case 'CreateTopic': {
        const name = required(params, 'Name');
        if (!TOPIC_NAME.test(name))
          throw new SnsQueryError('InvalidParameter', 'Invalid parameter: Topic Name');
        const arn = `arn:aws:sns:${region}:${LOCAL_ACCOUNT}:${name}`;
        topics.add(arn);
        return `<CreateTopicResponse xmlns="${XMLNS}"><CreateTopicResult><TopicArn>${escapeXml(arn)}</TopicArn></CreateTopicResult>${meta}</CreateTopicResponse>`;
      }
      case 'ListTopics': {
        const members = [...topics]
          .map((arn) => `<member><TopicArn>${escapeXml(arn)}</TopicArn></member>`)
          .join('');
        return `<ListTopicsResponse xmlns="${XMLNS}"><ListTopicsResult><Topics>${members}</Topics></ListTopicsResult>${meta}</ListTopicsResponse>`;
      }
      case 'Publish': {
        const topicArn = params.get('TopicArn') ?? params.get('TargetArn');
        if (!topicArn) {
          throw new SnsQueryError(
            'InvalidParameter',
            'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter',
          );
        }
        if (!TOPIC_ARN.test(topicArn))
          throw new SnsQueryError('InvalidParameter', 'Invalid parameter: TopicArn');
        if (options.strictTopics && !topics.has(topicArn)) {
          throw new SnsQueryError('NotFound', 'Topic does not exist', 404);
        }
        const message = required(params, 'Message');
        const subject = params.get('Subject') ?? undefined;
        const messageId = randomUUID();
        topics.add(topicArn);
        received.push({
          topicArn,
          messageId,
          message,
          timestamp: new Date(),
          ...(subject === undefined ? {} : { subject }),
        });
        return `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult>${meta}</PublishResponse>`;
      }
      default:
        throw new SnsQueryError('InvalidAction', `The action ${action} is not valid for this endpoint.`);
    }
  };

  const server = createServer((req, res) => {
    readBody(req)
      .then((buffer) => {
        const params = new URLSearchParams(buffer.toString('utf8'));
        const url = new URL(req.url ?? '/', 'http://localhost');
        for (const [k, v] of url.searchParams) if (!params.has(k)) params.set(k, v);
        sendXml(res, 200, handle(params.get('Action') ?? '', params));
      })
      .catch((e: unknown) => {
        const error =
          e instanceof SnsQueryError ? e : new SnsQueryError('InternalError', 'internal error', 500);
        const type = error.status >= 500 ? 'Receiver' : 'Sender';
        sendXml(
          res,
          error.status,
          `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
        );
      });
  });
  const { endpoint, port, close } = await listenLocal(server, options.port);
  return {
    endpoint,
    port,
    messages: (topicArn) => received.filter((m) => topicArn === undefined || m.topicArn === topicArn),
    stop: close,
  };
}
