/**
 * `mlops edge export|verify`: the edge export on demand. `export` re-runs the pipeline's ExportEdge
 * (the same file, gate and ledger event) for a registered version; `verify` runs the parity gate
 * alone on any ONNX file against a registered version's test split, and records nothing. Both
 * exit with 1 when the gate fails; `verify` also when the file names another source model. The target is resolved as for `mlops audit` (target.ts).
 */
import type { Command } from 'commander';
import type { UseCase } from '../../shared/config/use-case.ts';
import type { EdgeParity } from '../../shared/ledger/events.ts';
import type { EdgeVerification } from '../../shared/pipeline/export-edge.ts';
import { loadUseCases } from '../config/use-cases.ts';
import {
  EdgeTargetError,
  exportEdgeOnDemand,
  latestApprovedVersion,
  verifyEdgeOnDemand,
} from '../ops/edge.ts';
import { resolveTarget } from '../ops/target.ts';
import { UsageError } from './errors.ts';

interface CommonOptions {
  readonly table?: string;
  readonly json?: boolean;
}

interface ExportOptions extends CommonOptions {
  readonly version?: string;
  readonly stage: string;
  readonly signingKey?: string;
  readonly artifactsBucket?: string;
  readonly actor?: string;
}

/** An ops error that names an option, as the CLI reports usage errors. */
async function asUsage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof EdgeTargetError) throw new UsageError(e.option, e.message);
    throw e;
  }
}

function parseVersion(text: string): number {
  const version = Number(text);
  if (!Number.isInteger(version) || version < 1) {
    throw new UsageError(
      '--version',
      `must be a package version (a positive integer), got ${JSON.stringify(text)}`,
    );
  }
  return version;
}

/** The use case `mlops edge export` was asked for, if it is known and sets `edge`. */
export function edgeUseCase(all: readonly UseCase[], name: string): UseCase {
  const useCase = all.find((u) => u.name === name);
  if (!useCase) {
    throw new UsageError(
      '<useCase>',
      `unknown use case ${name}; use-cases/ defines ${all.map((u) => u.name).join(', ')}`,
    );
  }
  if (!useCase.edge) {
    throw new UsageError(
      '<useCase>',
      `${name} does not set edge; add edge: { format: 'onnx' } to its use case to export it`,
    );
  }
  return useCase;
}

const figures = (p: EdgeParity): string =>
  `max |Δ| ${p.maxAbsDelta.toPrecision(3)} (limit ${p.limits.maxAbsDelta}), ${p.flips} of ${p.rows} labels flip at ${p.threshold} (limit ${p.limits.maxFlipShare * 100}%)`;

/**
 * Whether `edge verify` passes: the gate holds and the file does not name another source model
 * (a file exported from another model that happens to score alike is not this version's file).
 */
export function edgeVerifyPassed(v: Pick<EdgeVerification, 'parity' | 'sourceMatches'>): boolean {
  return v.parity.passed && v.sourceMatches !== false;
}

/** Adds `edge export` and `edge verify` to `program`. */
export function registerEdgeCommands(program: Command): Command {
  const edge = program
    .command('edge')
    .description('Export registered models as ONNX files for devices and browsers, behind a parity gate');

  edge
    .command('export <useCase>')
    .description(
      'Export a registered version as model.onnx + manifest.json under edge/<useCase>/<N>/ (published only if the parity gate passes; recorded in the ledger either way)',
    )
    .option('--version <N>', 'package version to export (default: the newest approved one)')
    .option('-s, --stage <stage>', 'stage whose model registry to look the newest version up in', 'dev')
    .option('--table <name>', 'ledger table name (default: $MLOPS_LEDGER_TABLE)')
    .option(
      '--signing-key <arn>',
      "the ledger signing key (default: $MLOPS_LEDGER_SIGNING_KEY, or the local cloud's)",
    )
    .option('--artifacts-bucket <bucket>', "bucket to publish to (default: the model archive's)")
    .option('--actor <name>', 'who exports, as recorded (default: cli/<user>)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: ExportOptions) => {
      const useCase = edgeUseCase(await loadUseCases(), name);
      const asked = opts.version === undefined ? undefined : parseVersion(opts.version);
      const target = resolveTarget({ ledgerTable: opts.table, signingKey: opts.signingKey });
      const result = await asUsage(async () =>
        exportEdgeOnDemand(target, {
          useCase,
          version: asked ?? (await latestApprovedVersion(target, opts.stage, useCase.name)),
          ...(opts.actor ? { actor: opts.actor } : {}),
          ...(opts.artifactsBucket ? { artifactsBucket: opts.artifactsBucket } : {}),
        }),
      );
      const e = result.event;
      if (opts.json) {
        console.log(JSON.stringify({ exported: result.exported, reason: result.reason, event: e }, null, 2));
      } else if (e.type === 'EdgeModelExported') {
        console.log(
          [
            `Exported ${e.modelVersion}: s3://${e.objects.model.bucket}/${e.objects.model.key}`,
            `  sha256    ${e.model.sha256} (${e.model.bytes} bytes, opsets ${e.model.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')})`,
            `  inputs    ${e.model.inputs.map((i) => `${i.name}:${i.type}`).join(', ')}`,
            `  parity    ${figures(e.parity)}`,
            `  manifest  s3://${e.objects.manifest.bucket}/${e.objects.manifest.key}`,
            `  ledger    EdgeModelExported ${e.eventId}`,
          ].join('\n'),
        );
      } else {
        console.log(
          [
            `Refused ${e.modelVersion}: nothing published`,
            `  reason    ${e.reason}`,
            ...(e.parity ? [`  parity    ${figures(e.parity)}`] : []),
            `  ledger    EdgeExportFailed ${e.eventId}`,
          ].join('\n'),
        );
      }
      if (!result.exported) process.exitCode = 1;
    });

  edge
    .command('verify <file>')
    .description(
      "Run the parity gate on any ONNX file against a registered version's test split (records nothing)",
    )
    .requiredOption('--against <modelVersion>', 'the registered version, as <useCase>:v<N>')
    .option('--table <name>', 'ledger table name (default: $MLOPS_LEDGER_TABLE)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: CommonOptions & { against: string }) => {
      const target = resolveTarget({ ledgerTable: opts.table });
      const v = await asUsage(async () =>
        verifyEdgeOnDemand(target, await loadUseCases(), opts.against, file),
      );
      if (opts.json) {
        console.log(JSON.stringify(v, null, 2));
      } else {
        const source =
          v.sourceMatches === undefined
            ? 'the file names no source model'
            : v.sourceMatches
              ? `exported from ${v.modelVersion}'s model (${v.sourceModelSha256.slice(0, 12)})`
              : `exported from another model (${v.claims.sourceModelSha256?.slice(0, 12)}, not ${v.sourceModelSha256.slice(0, 12)})`;
        console.log(
          [
            `${edgeVerifyPassed(v) ? 'PASSED' : 'FAILED'}: ${file} against ${v.modelVersion}`,
            `  ${v.parity.reason}`,
            `  file      sha256 ${v.file.sha256} (${v.file.bytes} bytes); ${source}`,
          ].join('\n'),
        );
      }
      if (!edgeVerifyPassed(v)) process.exitCode = 1;
    });

  return edge;
}
