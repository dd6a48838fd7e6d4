/** Runs once before the test forks: fetches the DynamoDB Local jar so parallel forks do not race the download. */
import { ensureDynamoDbLocalJar, javaMajorVersion } from '../../infra/local/engines/dynamodb.ts';

export default function setup(): void {
  // Without Java 17+ the engines fall back to dynalite and never need the jar.
  if ((javaMajorVersion() ?? 0) >= 17) ensureDynamoDbLocalJar();
}
