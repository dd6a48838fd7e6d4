/**
 * Model cards generated from ledger facts only: every line cites the event (seq and hash prefix)
 * it comes from, and a fact the ledger lacks is shown as missing rather than filled in.
 */
import type { LedgerLocation } from './append.ts';
import { type EventRef, getProvenance, ofType, type Provenance } from './queries.ts';

function cell(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return (text ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function cite(ref: EventRef): string {
  return `#${ref.seq} \`${ref.hash.slice(0, 12)}\``;
}

function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string[] {
  if (rows.length === 0) return ['_None recorded._'];
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

const figure = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(3));

/** The version's edge exports: each attempt's verdict and figures, and where a passing file is. */
function edgeExportLines(p: Provenance): string[] {
  if (p.edgeExports.length === 0) return ['_No edge export recorded._'];
  return table(
    ['time', 'result', 'max abs delta', 'label flips', 'rows', 'file', 'source'],
    p.edgeExports.map((x) => [
      x.time,
      x.passed ? 'exported' : `REFUSED: ${x.reason}`,
      x.parity ? `${figure(x.parity.maxAbsDelta)} (limit ${x.parity.limits.maxAbsDelta})` : '',
      x.parity ? `${x.parity.flips} (limit ${figure(x.parity.limits.maxFlipShare * 100)}%)` : '',
      x.parity?.rows ?? '',
      x.model
        ? `s3://${x.model.bucket}/${x.model.key} (sha256 ${x.sha256}, version ${x.model.versionId})`
        : x.sha256
          ? `not published (sha256 ${x.sha256})`
          : 'not published',
      cite(x),
    ]),
  );
}

/** Renders the model card of one version from its provenance. */
export function renderModelCard(p: Provenance): string {
  const m = p.manifest;
  const lines: string[] = [
    `# Model card: ${p.modelVersion}`,
    '',
    `Use case \`${p.useCase}\`, registered ${p.registered.time} by ${cell(p.registered.actor)} (ledger ${cite(p.registered)}).`,
    'Every fact below comes from the lineage ledger; `#seq hash` cites the event.',
    '',
    '## Model',
    '',
    ...table(
      ['fact', 'value', 'source'],
      [
        ['artifact', p.registered.artifactUri, cite(p.registered)],
        ...(p.registered.modelPackageArn
          ? [['model package', p.registered.modelPackageArn, cite(p.registered)]]
          : []),
        ...(p.artifact
          ? [['artifact sha256', p.artifact.sha256, p.run.finished ? cite(p.run.finished) : '']]
          : []),
        ['training run', `${p.run.runId} (${p.run.status})`, p.run.started ? cite(p.run.started) : 'missing'],
        ...(p.run.trigger
          ? [
              [
                'trigger',
                `${p.run.trigger}${p.run.reason ? `: ${p.run.reason}` : ''}`,
                p.run.started ? cite(p.run.started) : '',
              ],
            ]
          : []),
      ],
    ),
    '',
    '## Training data',
    '',
    `Dataset content hash \`${p.dataset.hash}\`${p.dataset.built ? `, built ${p.dataset.built.time} (${cite(p.dataset.built)})` : ''}.`,
    ...(p.dataset.rowCount !== undefined
      ? [`Rows: ${p.dataset.rowCount}; point-in-time cutoff: ${p.dataset.cutoff}.`]
      : []),
    '',
    ...table(
      ['bucket', 'key', 'version ID'],
      p.dataset.objects.map((o) => [o.bucket, o.key, o.versionId]),
    ),
    '',
    '## Reproducibility',
    '',
    ...(m
      ? table(
          ['fact', 'value'],
          [
            ['feature definitions hash', m.featureDefinitionsHash],
            ['code version', m.codeVersion],
            ['config hash', m.configHash],
            ['container image', m.containerImage],
            ['seed', m.seed],
            ...Object.entries(m.hyperparameters)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, v]) => [`hyperparameter \`${k}\``, v]),
          ],
        )
      : ['_No training manifest recorded._']),
    '',
    '## Metrics',
    '',
    ...table(
      ['metric', 'value'],
      Object.entries(p.metrics ?? {})
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, v]),
    ),
    '',
    '## Quality gates',
    '',
    ...(p.evaluations.length === 0
      ? ['_No evaluation recorded._']
      : p.evaluations.flatMap((e) => [
          `Evaluation ${e.time} (${cite(e)}): **${e.passed ? 'passed' : 'failed'}**${e.champion ? ` against champion ${e.champion.modelVersion}` : ''}.`,
          '',
          ...table(
            ['gate', 'metric', 'rule', 'threshold', 'actual', 'result'],
            e.gates.map((g) => [
              g.name,
              g.metric,
              g.comparison,
              g.threshold,
              g.actual,
              g.passed ? 'pass' : 'FAIL',
            ]),
          ),
          '',
        ])),
    '## Approvals',
    '',
    ...table(
      ['time', 'approver', 'decision', 'reason', 'source'],
      p.approvals.map((a) => [a.time, a.approver, a.decision, a.reason, cite(a)]),
    ),
    '',
    '## Edge export',
    '',
    ...edgeExportLines(p),
    '',
    '## Deployments',
    '',
    ...table(
      ['time', 'event', 'endpoint', 'deployment', 'source'],
      [
        ...p.deployments.map((d) => ({
          ref: d as EventRef,
          row: [d.time, d.type, d.endpointName, d.deploymentId, cite(d)],
        })),
        ...p.rollbacks.map((r) => ({
          ref: r as EventRef,
          row: [
            r.time,
            `${r.type} (${r.reason}; restored ${r.restoredModelVersion ?? 'nothing'})`,
            r.endpointName,
            '',
            cite(r),
          ],
        })),
      ]
        .sort((a, b) => a.ref.seq - b.ref.seq)
        .map((x) => x.row),
    ),
    '',
    '## Monitoring and incidents',
    '',
    ...table(
      ['time', 'event', 'details', 'source'],
      [
        ...ofType(p.records, 'MonitoringReport').map((r) => ({
          seq: r.seq,
          row: [
            r.event.time,
            'MonitoringReport',
            `${r.event.decision}, drifted share ${r.event.driftedShare}, n=${r.event.sampleSize}`,
            `#${r.seq} \`${r.hash.slice(0, 12)}\``,
          ],
        })),
        ...ofType(p.records, 'DriftDetected').map((r) => ({
          seq: r.seq,
          row: [
            r.event.time,
            'DriftDetected',
            `features ${r.event.driftedFeatures.join(', ')}`,
            `#${r.seq} \`${r.hash.slice(0, 12)}\``,
          ],
        })),
        ...p.incidents.map((i) => ({
          seq: i.seq,
          row: [i.time, 'IncidentOpened', `${i.severity}: ${i.summary}`, cite(i)],
        })),
      ]
        .sort((a, b) => a.seq - b.seq)
        .map((x) => x.row),
    ),
    '',
  ];
  if (p.gaps.length > 0) lines.push('## Missing from the ledger', '', ...p.gaps.map((g) => `- ${g}`), '');
  return lines.join('\n');
}

/** Reads a model version's provenance from the ledger and renders its model card. */
export async function generateModelCard(loc: LedgerLocation, modelVersion: string): Promise<string> {
  return renderModelCard(await getProvenance(loc, modelVersion));
}
