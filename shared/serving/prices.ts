/**
 * The price table `mlops cost` reads: on-demand list prices in USD for us-east-1 (US East,
 * N. Virginia), the table's only region, with no free tier and no Savings Plan counted.
 *
 * Every price names the official pricing page it belongs to, the page actually read for it and
 * the day it was read. `verified: true` means the figure itself was read on an AWS page that day;
 * `verified: false` means no page read that day showed it (AWS's pricing pages render their rate
 * tables client-side, so the stored copies lack most figures) and the figure is the one we are
 * confident of, corroborated where a third-party page is named in `readAt`. The CLI prints every
 * unverified price as a footnote. Check them on the official page before relying on a total.
 *
 * Data sizes are binary, as AWS bills them: 1 GB = 2^30 bytes, 1 KB = 1024 bytes.
 */

/** The day every page below was read (UTC). */
export const PRICES_READ_ON = '2026-12-02';

/** The region every price below is for. */
export const PRICE_REGION = 'us-east-1';

/** Hours AWS counts in a month when it quotes a monthly price (8,760 h / 12). */
export const HOURS_PER_MONTH = 730;

/** Bytes in a billed GB. */
export const BYTES_PER_GB = 2 ** 30;

/** One step of a tiered price: `usd` per unit for usage up to `upTo` units a month (cumulative). */
export interface PriceTier {
  /** Cumulative monthly usage, in the price's unit, where this tier ends; `Infinity` for the last. */
  readonly upTo: number;
  readonly usd: number;
}

/** One price with its unit and provenance. */
export interface Price {
  /** What is charged, in words. */
  readonly name: string;
  /** USD per `unit` (the first tier's price when the price is tiered). */
  readonly usd: number;
  /** The unit the price is quoted per, e.g. `instance-hour`, `GB-second`, `million requests`. */
  readonly unit: string;
  /**
   * Volume tiers, ascending; the first one's `usd` equals `usd`.
   * @default - one flat price at every volume
   */
  readonly tiers?: readonly PriceTier[];
  /** The official pricing page the figure belongs to. */
  readonly source: string;
  /** The pages actually read for this figure, with what each showed. */
  readonly readAt: readonly string[];
  /** The day those pages were read. */
  readonly readOn: string;
  /** True when the figure itself appeared on an AWS page that was read; see the file header. */
  readonly verified: boolean;
  /** Billing rules that change the arithmetic (rounding, what counts). */
  readonly note?: string;
}

const SAGEMAKER = 'https://aws.amazon.com/sagemaker-ai/pricing/';
const SAGEMAKER_READ =
  'https://aws.amazon.com/de/sagemaker/pricing/?nc=sn&loc=4 (official, German: free tier only, no rate table in the stored copy)';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const LAMBDA_READ =
  'https://aws.amazon.com/lambda/pricing/?p=ft&c=wa&z=3 (official: the rate table is rendered client-side, no figure in the stored copy)';

function sagemakerInstance(instanceType: string, usd: number): Price {
  return {
    name: `SageMaker real-time inference, ${instanceType}`,
    usd,
    unit: 'instance-hour',
    source: SAGEMAKER,
    readAt: [SAGEMAKER_READ],
    readOn: PRICES_READ_ON,
    verified: false,
    note: 'billed per second while the instance is in service, whether or not it is invoked',
  };
}

// Serverless Inference is quoted per second of compute for each memory size; every size is the
// same $0.00002 per GB-second, which is what makes the serverless side of the model linear.
function sagemakerServerless(memorySizeMb: number): Price {
  return {
    name: `SageMaker Serverless Inference compute, ${memorySizeMb} MB`,
    usd: (memorySizeMb / 1024) * 0.00002,
    unit: 'second of compute',
    source: SAGEMAKER,
    readAt: [SAGEMAKER_READ],
    readOn: PRICES_READ_ON,
    verified: false,
    note: 'billed per millisecond of inference duration at the configured memory size; $0.00002 per GB-second',
  };
}

/** The prices the cost model reads, by service. */
export interface PriceTable {
  /** The region every price is for. */
  readonly region: string;
  readonly sagemaker: {
    /** Real-time hosting, by instance type. */
    readonly realTime: Readonly<Record<string, Price>>;
    /** Serverless Inference compute, by memory size in MB. */
    readonly serverless: Readonly<Record<number, Price>>;
    readonly dataProcessedIn: Price;
    readonly dataProcessedOut: Price;
  };
  readonly lambda: { readonly requests: Price; readonly durationArm: Price };
  readonly apiGateway: { readonly restRequests: Price };
  readonly dynamodb: { readonly onDemandReads: Price; readonly onDemandWrites: Price };
  readonly firehose: { readonly directPutIngestion: Price };
  readonly cloudwatchLogs: { readonly ingestion: Price };
  readonly s3: { readonly putRequests: Price; readonly standardStorage: Price };
}

/** Billing rules that shape the arithmetic, each from the page named next to it. */
export const BILLING_RULES = {
  /** Firehose Direct PUT rounds every record up to a multiple of 5 KB (Firehose pricing page). */
  firehoseRecordIncrementBytes: 5 * 1024,
  /** One strongly consistent read unit covers an item of up to 4 KB (DynamoDB pricing). */
  dynamodbReadUnitBytes: 4 * 1024,
  /** One write unit covers an item of up to 1 KB (DynamoDB pricing). */
  dynamodbWriteUnitBytes: 1024,
  /** Lambda rounds each invocation's duration up to the next millisecond (Lambda pricing). */
  lambdaBillingIncrementMs: 1,
} as const;

/** Every price the cost model uses, for us-east-1. */
export const PRICES: PriceTable = {
  region: PRICE_REGION,
  sagemaker: {
    realTime: {
      'ml.t2.medium': sagemakerInstance('ml.t2.medium', 0.056),
      'ml.c5.large': sagemakerInstance('ml.c5.large', 0.102),
      'ml.m5.large': sagemakerInstance('ml.m5.large', 0.115),
      'ml.m5.xlarge': sagemakerInstance('ml.m5.xlarge', 0.23),
    },
    serverless: {
      1024: sagemakerServerless(1024),
      2048: sagemakerServerless(2048),
      3072: sagemakerServerless(3072),
      4096: sagemakerServerless(4096),
      5120: sagemakerServerless(5120),
      6144: sagemakerServerless(6144),
    },
    dataProcessedIn: {
      name: 'SageMaker inference data processed in',
      usd: 0.016,
      unit: 'GB',
      source: SAGEMAKER,
      readAt: [SAGEMAKER_READ],
      readOn: PRICES_READ_ON,
      verified: false,
      note: 'the bytes sent to the endpoint; charged for real-time and serverless endpoints alike',
    },
    dataProcessedOut: {
      name: 'SageMaker inference data processed out',
      usd: 0.016,
      unit: 'GB',
      source: SAGEMAKER,
      readAt: [SAGEMAKER_READ],
      readOn: PRICES_READ_ON,
      verified: false,
      note: 'the bytes the endpoint returns; charged for real-time and serverless endpoints alike',
    },
  },
  lambda: {
    requests: {
      name: 'Lambda requests (arm64)',
      usd: 0.2,
      unit: 'million requests',
      source: LAMBDA,
      readAt: [
        LAMBDA_READ,
        'https://git.mcrn.ar/mariano/lambda_local_runner/src/commit/957e45b8adae23ce50b966346229585b5df18b4d/docs/lambdas-md/lambda-13-cost.md?display=rendered (third-party: $0.20 per 1M, x86 and arm64)',
      ],
      readOn: PRICES_READ_ON,
      verified: false,
    },
    durationArm: {
      name: 'Lambda duration (arm64)',
      usd: 0.0000133334,
      unit: 'GB-second',
      tiers: [
        { upTo: 7.5e9, usd: 0.0000133334 },
        { upTo: 18.75e9, usd: 0.0000120001 },
        { upTo: Number.POSITIVE_INFINITY, usd: 0.0000106667 },
      ],
      source: LAMBDA,
      readAt: [
        LAMBDA_READ,
        'https://cloudchipr.com/blog/aws-lambda-pricing (third-party, US East: Arm $0.0000133334 first 7.5 billion GB-s, $0.0000120001 next 11.25 billion)',
      ],
      readOn: PRICES_READ_ON,
      verified: false,
      note: 'duration is rounded up to the next 1 ms per invocation; tiers count the account-wide arm64 total in the region',
    },
  },
  apiGateway: {
    restRequests: {
      name: 'API Gateway REST API requests',
      usd: 3.5,
      unit: 'million requests',
      tiers: [
        { upTo: 333, usd: 3.5 },
        { upTo: 1000, usd: 2.8 },
        { upTo: 20_000, usd: 2.38 },
        { upTo: Number.POSITIVE_INFINITY, usd: 1.51 },
      ],
      source: 'https://aws.amazon.com/api-gateway/pricing/',
      readAt: [
        'https://docs.aws.amazon.com/pt_br/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html (AWS whitepaper, Table 4: REST first 333 million $3.50, next 667 million $2.80, next 19 billion $2.38, over 20 billion $1.51 per million)',
      ],
      readOn: PRICES_READ_ON,
      verified: true,
      note: 'data transfer out is extra and not counted (responses are a few hundred bytes)',
    },
  },
  dynamodb: {
    onDemandReads: {
      name: 'DynamoDB on-demand read request units (Standard table class)',
      usd: 0.125,
      unit: 'million RRU',
      source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
      readAt: [
        'https://docs.aws.amazon.com/pt_br/whitepapers/latest/how-aws-pricing-works/dynamodb.html (AWS whitepaper: a strongly consistent read of up to 4 KB is 1 RRU, eventually consistent 1/2)',
        'https://airbyte.com/data-engineering-resources/dynamodb-pricing (third-party, US East after the November 2024 cut: $0.125 per million RRU)',
      ],
      readOn: PRICES_READ_ON,
      verified: false,
      note: 'a strongly consistent read is 1 RRU per 4 KB of item (rounded up), an eventually consistent one 1/2; a BatchGetItem counts each item',
    },
    onDemandWrites: {
      name: 'DynamoDB on-demand write request units (Standard table class)',
      usd: 0.625,
      unit: 'million WRU',
      source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
      readAt: [
        'https://docs.aws.amazon.com/pt_br/whitepapers/latest/how-aws-pricing-works/dynamodb.html (AWS whitepaper: a standard write of up to 1 KB is 1 WRU)',
        'https://airbyte.com/data-engineering-resources/dynamodb-pricing (third-party, US East after the November 2024 cut: $0.625 per million WRU)',
      ],
      readOn: PRICES_READ_ON,
      verified: false,
      note: 'a write is 1 WRU per 1 KB of item (rounded up); storage of the served requests (a few hundred bytes each, kept for the feedback window) is not counted',
    },
  },
  firehose: {
    directPutIngestion: {
      name: 'Amazon Data Firehose ingestion (Direct PUT, which includes CloudWatch Logs subscriptions)',
      usd: 0.029,
      unit: 'GB',
      source: 'https://aws.amazon.com/firehose/pricing/',
      readAt: [
        'https://aws.amazon.com/de/kinesis/data-firehose/pricing/?nc=sn&loc=3 (official, German: Direct PUT ingestion is billed per GB in 5 KB increments per record; no figure in the stored copy)',
        'https://docs.amazonaws.cn/en_us/firehose/latest/dev/create-name.html (AWS docs: CloudWatch Logs is a Direct PUT source)',
      ],
      readOn: PRICES_READ_ON,
      verified: false,
      note: 'each record is rounded up to the next 5 KB (a 3 KB record bills as 5 KB); first tier (500 TB a month) only',
    },
  },
  cloudwatchLogs: {
    ingestion: {
      name: 'CloudWatch Logs ingestion (Standard class, Lambda logs)',
      usd: 0.5,
      unit: 'GB',
      source: 'https://aws.amazon.com/cloudwatch/pricing/',
      readAt: [
        'https://c3x.dev/blog/cloudwatch-logs-cost-optimization (third-party, us-east-1: Standard ingestion $0.50 per GB)',
      ],
      readOn: PRICES_READ_ON,
      verified: false,
      note: 'first tier only (Lambda logs are tiered above 10 TB a month); storage and queries not counted',
    },
  },
  s3: {
    putRequests: {
      name: 'S3 Standard PUT requests',
      usd: 0.005,
      unit: '1,000 requests',
      source: 'https://aws.amazon.com/s3/pricing/',
      readAt: [
        'https://www.cloudkaramchari.com/blog/understanding-per-1000-put-copy-post-or-list-requests-in-amazon-s3-pricing/ (third-party: $0.005 per 1,000 PUT, COPY, POST or LIST requests)',
      ],
      readOn: PRICES_READ_ON,
      verified: false,
    },
    standardStorage: {
      name: 'S3 Standard storage',
      usd: 0.023,
      unit: 'GB-month',
      source: 'https://aws.amazon.com/s3/pricing/',
      readAt: [
        'https://deepeshsoni.com/archives/256 (third-party, US East: S3 Standard about $0.023 per GB-month for the first 50 TB)',
      ],
      readOn: PRICES_READ_ON,
      verified: false,
      note: 'first tier (50 TB) only',
    },
  },
};

/** The instance types the table prices for real-time hosting. */
export function pricedInstanceTypes(prices: PriceTable = PRICES): string[] {
  return Object.keys(prices.sagemaker.realTime).sort();
}
