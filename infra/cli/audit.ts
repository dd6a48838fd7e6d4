/**
 * `mlops audit ...`: the auditor's commands. They talk to DynamoDB (and S3 for the archive)
 * directly with read-only calls, so the auditor role is enough; SDK clients honour
 * AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3, so the same commands work on the local cloud.
 */
import { writeFileSync } from 'node:fs';
import { GetPublicKeyCommand } from '@aws-sdk/client-kms';
import type { Command } from 'commander';
import type { LedgerLocation } from '../../shared/ledger/append.ts';
import { generateModelCard } from '../../shared/ledger/model-card.ts';
import { toRunEvents } from '../../shared/ledger/openlineage.ts';
import {
  allEventsInRange,
  getProvenance,
  incidentsForModel,
  modelsFromDataset,
  servedAt,
} from '../../shared/ledger/queries.ts';
import { kmsSignatureChecker, publicKeyPem } from '../../shared/ledger/signing.ts';
import { verifyLedger } from '../../shared/ledger/verify.ts';
import { documentClientFor, kmsClientFor, resolveTarget, s3ClientFor, type Target } from '../ops/target.ts';
import { UsageError } from './errors.ts';

interface CommonOptions {
  readonly table?: string;
  readonly chain: string;
  readonly json?: boolean;
}

/** The ledger on the command's target (see target.ts): `--table`, or the target's default. */
function ledgerFrom(
  opts: CommonOptions,
  target: Target = resolveTarget({ ledgerTable: opts.table }),
): LedgerLocation {
  if (!target.ledgerTable) {
    throw new UsageError(
      '--table',
      'no ledger table: pass --table <name>, set MLOPS_LEDGER_TABLE, or start the local cloud',
    );
  }
  return { client: documentClientFor(target), tableName: target.ledgerTable, chain: opts.chain };
}

/** The signing key on the target: `--signing-key`, MLOPS_LEDGER_SIGNING_KEY, or the local cloud's. */
function signingKeyOf(target: Target): string {
  if (!target.signingKey) {
    throw new UsageError(
      '--signing-key',
      'no ledger signing key: pass --signing-key <key ARN> (the Data stack output LedgerSigningKeyArn), set MLOPS_LEDGER_SIGNING_KEY, or start the local cloud',
    );
  }
  return target.signingKey;
}

function print(opts: CommonOptions, value: unknown, human: () => string): void {
  console.log(opts.json ? JSON.stringify(value, null, 2) : human());
}

const ref = (r: { seq: number; type: string; time: string }) => `#${r.seq} ${r.type} ${r.time}`;

function withCommon(cmd: Command): Command {
  return cmd
    .option('--table <name>', 'ledger table name (default: $MLOPS_LEDGER_TABLE)')
    .option('--chain <chain>', 'ledger chain', 'main')
    .option('--json', 'machine-readable output');
}

/** Adds `audit provenance|models|served-at|events|incidents|verify|export|model-card` to `program`. */
export function registerAuditCommands(program: Command): Command {
  const audit = program.command('audit').description('Query and verify the lineage ledger (read-only)');

  withCommon(audit.command('provenance <modelVersion>'))
    .description('Data, code, config, approvals and deployments behind a model version')
    .action(async (modelVersion: string, opts: CommonOptions) => {
      const p = await getProvenance(ledgerFrom(opts), modelVersion);
      print(opts, p, () =>
        [
          `Model ${p.modelVersion} (${p.useCase}), registered ${ref(p.registered)}`,
          `  run       ${p.run.runId} (${p.run.status}${p.run.trigger ? `, ${p.run.trigger}` : ''})`,
          `  dataset   ${p.dataset.hash}`,
          ...p.dataset.objects.map((o) => `            s3://${o.bucket}/${o.key} version ${o.versionId}`),
          ...(p.manifest
            ? [
                `  features  ${p.manifest.featureDefinitionsHash}`,
                `  code      ${p.manifest.codeVersion}`,
                `  config    ${p.manifest.configHash}`,
                `  image     ${p.manifest.containerImage}`,
                `  params    ${JSON.stringify(p.manifest.hyperparameters)} seed ${p.manifest.seed}`,
              ]
            : []),
          `  metrics   ${JSON.stringify(p.metrics ?? {})}`,
          ...p.approvals.map((a) => `  approval  ${a.decision} by ${a.approver}: ${a.reason} (${ref(a)})`),
          ...p.deployments.map((d) => `  deploy    ${d.type} ${d.endpointName} (${ref(d)})`),
          ...p.rollbacks.map((r) => `  rollback  ${r.endpointName}: ${r.reason} (${ref(r)})`),
          ...p.incidents.map((i) => `  incident  ${i.incidentId} ${i.severity}: ${i.summary} (${ref(i)})`),
          ...p.edgeExports.map(
            (x) =>
              `  edge      ${x.passed ? `exported s3://${x.model?.bucket}/${x.model?.key}` : 'refused'}: ${x.reason} (${ref(x)})`,
          ),
          ...p.gaps.map((g) => `  MISSING   ${g}`),
        ].join('\n'),
      );
    });

  withCommon(audit.command('models <datasetHash>'))
    .description('Models derived from a dataset')
    .action(async (datasetHash: string, opts: CommonOptions) => {
      const r = await modelsFromDataset(ledgerFrom(opts), datasetHash);
      print(opts, r, () =>
        r.models.length === 0
          ? `No model registered from dataset ${datasetHash}`
          : r.models.map((m) => `${m.modelVersion}  run ${m.runId}  ${ref(m)}`).join('\n'),
      );
    });

  withCommon(audit.command('served-at <endpointName>'))
    .description('The model version an endpoint served at a time')
    .requiredOption('--at <time>', 'ISO-8601 UTC time')
    .action(async (endpointName: string, opts: CommonOptions & { at: string }) => {
      const r = await servedAt(ledgerFrom(opts), endpointName, opts.at);
      print(opts, r, () =>
        r.modelVersion === null
          ? `${endpointName} served no model at ${r.at}`
          : `${endpointName} served ${r.modelVersion} at ${r.at} (decided by ${r.decidedBy ? ref(r.decidedBy) : '?'})`,
      );
    });

  withCommon(audit.command('events'))
    .description('Events in a time range, in time order')
    .requiredOption('--from <time>', 'ISO-8601 UTC start (inclusive)')
    .requiredOption('--to <time>', 'ISO-8601 UTC end (inclusive)')
    .action(async (opts: CommonOptions & { from: string; to: string }) => {
      const records = await allEventsInRange(ledgerFrom(opts), opts.from, opts.to);
      print(opts, records, () =>
        records
          .map((r) => `#${r.seq}  ${r.event.time}  ${r.event.type}  ${r.event.eventId}  ${r.event.actor}`)
          .join('\n'),
      );
    });

  withCommon(audit.command('incidents <modelVersion>'))
    .description('Incidents and rollbacks of a model version')
    .action(async (modelVersion: string, opts: CommonOptions) => {
      const r = await incidentsForModel(ledgerFrom(opts), modelVersion);
      print(
        opts,
        r,
        () =>
          [
            ...r.incidents.map((i) => `incident  ${i.incidentId} ${i.severity}: ${i.summary} (${ref(i)})`),
            ...r.rollbacks.map((b) => `rollback  ${b.endpointName}: ${b.reason} (${ref(b)})`),
          ].join('\n') || `No incident or rollback for ${modelVersion}`,
      );
    });

  withCommon(audit.command('verify'))
    .description(
      'Recompute the hash chain, check every signature, and report the first bad link (exit code 1 if any)',
    )
    .option(
      '--archive-bucket [bucket]',
      "also compare with the Object Lock archive (default bucket: $MLOPS_AUDIT_ARCHIVE_BUCKET, or the local cloud's)",
    )
    .option(
      '--signing-key <arn>',
      "the ledger signing key (default: $MLOPS_LEDGER_SIGNING_KEY, or the local cloud's)",
    )
    .action(async (opts: CommonOptions & { archiveBucket?: string | true; signingKey?: string }) => {
      const target = resolveTarget({
        ledgerTable: opts.table,
        signingKey: opts.signingKey,
        ...(typeof opts.archiveBucket === 'string' ? { archiveBucket: opts.archiveBucket } : {}),
      });
      const ledger = ledgerFrom(opts, target);
      let archive: { s3: ReturnType<typeof s3ClientFor>; bucket: string } | undefined;
      if (opts.archiveBucket !== undefined) {
        if (!target.archiveBucket) {
          throw new UsageError(
            '--archive-bucket',
            'name the audit archive bucket (or set MLOPS_AUDIT_ARCHIVE_BUCKET)',
          );
        }
        archive = { s3: s3ClientFor(target), bucket: target.archiveBucket };
      }
      const signatures = await kmsSignatureChecker(kmsClientFor(target), signingKeyOf(target));
      const report = await verifyLedger({ ...ledger, signatures }, archive);
      print(opts, report, () =>
        report.ok
          ? `OK: chain ${report.chain} verified, ${report.eventsChecked} event(s), head ${report.head?.seq ?? 0}` +
            (report.archive
              ? `, ${report.archive.digestsChecked} digest(s) and ${report.archive.eventsChecked} archived event(s) match`
              : '')
          : `BROKEN at event ${report.problem?.seq}: ${report.problem?.kind}: ${report.problem?.message}`,
      );
      if (!report.ok) process.exitCode = 1;
    });

  audit
    .command('public-key')
    .description("Print the ledger signing key's public key (PEM), to check signatures offline")
    .option(
      '--signing-key <arn>',
      "the ledger signing key (default: $MLOPS_LEDGER_SIGNING_KEY, or the local cloud's)",
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: { signingKey?: string; json?: boolean }) => {
      const target = resolveTarget({ signingKey: opts.signingKey });
      const out = await kmsClientFor(target).send(new GetPublicKeyCommand({ KeyId: signingKeyOf(target) }));
      if (!out.PublicKey) throw new Error(`KMS returned no public key for ${signingKeyOf(target)}`);
      const pem = publicKeyPem(out.PublicKey);
      console.log(
        opts.json ? JSON.stringify({ keyArn: out.KeyId, keySpec: out.KeySpec, pem }) : pem.trimEnd(),
      );
    });

  withCommon(audit.command('export'))
    .description('Export events as OpenLineage RunEvents (JSON array; --out writes a file)')
    .option('--format <format>', 'export format (openlineage)', 'openlineage')
    .requiredOption('--from <time>', 'ISO-8601 UTC start')
    .requiredOption('--to <time>', 'ISO-8601 UTC end')
    .option('--producer <uri>', 'producer URI written to every event')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(
      async (
        opts: CommonOptions & { format: string; from: string; to: string; producer?: string; out?: string },
      ) => {
        if (opts.format !== 'openlineage')
          throw new UsageError('--format', `must be openlineage, got ${JSON.stringify(opts.format)}`);
        const records = await allEventsInRange(ledgerFrom(opts), opts.from, opts.to);
        const events = toRunEvents(records, opts.producer ? { producer: opts.producer } : {});
        const text = JSON.stringify(events, null, 2);
        if (opts.out) {
          writeFileSync(opts.out, `${text}\n`);
          console.log(
            opts.json
              ? JSON.stringify({ out: opts.out, events: events.length })
              : `Wrote ${events.length} RunEvent(s) to ${opts.out}`,
          );
        } else {
          console.log(text);
        }
      },
    );

  withCommon(audit.command('model-card <modelVersion>'))
    .description('Markdown model card generated from ledger facts only')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (modelVersion: string, opts: CommonOptions & { out?: string }) => {
      const card = await generateModelCard(ledgerFrom(opts), modelVersion);
      if (opts.out) writeFileSync(opts.out, card);
      if (opts.json)
        console.log(JSON.stringify({ modelVersion, markdown: card, ...(opts.out ? { out: opts.out } : {}) }));
      else if (!opts.out) console.log(card);
      else console.log(`Wrote the model card of ${modelVersion} to ${opts.out}`);
    });

  return audit;
}
