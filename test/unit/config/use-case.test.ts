import { describe, expect, it } from 'vitest';
import { ConfigError, loadStage } from '../../../infra/config/stage.ts';
import { loadUseCases, validateUseCase, validateUseCases } from '../../../infra/config/use-cases.ts';
import { modelFeatures, type UseCaseInput } from '../../../shared/config/use-case.ts';
import demo from '../../../use-cases/flight-delay.ts';

/** The demo use case with one change applied. */
function variant(change: (uc: UseCaseInput) => void): UseCaseInput {
  const copy = structuredClone(demo);
  change(copy);
  return copy;
}

function errorOf(input: unknown): string {
  try {
    validateUseCase(input, 'use-cases/test.ts');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected the use case to be rejected');
}

describe('use-case validation', () => {
  it('accepts the demo use case and applies defaults', () => {
    const uc = validateUseCase(demo, 'use-cases/flight-delay.ts');
    expect(uc.name).toBe('flight-delay');
    expect(uc.monitoring.thresholds).toEqual({
      pValue: 0.05,
      psi: 0.2,
      wasserstein: 0.1,
      jensenShannon: 0.1,
    });
    expect(modelFeatures(uc).map((f) => f.name)).toEqual([
      'delayRate2h',
      'flights2h',
      'hour',
      'weekday',
      'distance',
      'origin',
      'destination',
    ]);
  });

  it('turns the edge export on with the default parity limits (1e-6, no flip) when only the format is set', () => {
    // Prepare: the demo sets edge: { format: 'onnx' } alone.
    const uc = validateUseCase(demo, 'use-cases/flight-delay.ts');
    // Assess
    expect(uc.edge).toEqual({ format: 'onnx', maxAbsDelta: 1e-6, maxFlipShare: 0 });
  });

  it('leaves the edge export off when the use case has no edge section', () => {
    const uc = validateUseCase(
      variant((u) => {
        delete u.edge;
      }),
      'use-cases/test.ts',
    );
    expect(uc.edge).toBeUndefined();
  });

  it('keeps edge limits a use case sets', () => {
    const uc = validateUseCase(
      variant((u) => {
        u.edge = { format: 'onnx', maxAbsDelta: 1e-5, maxFlipShare: 0.001 };
      }),
      'use-cases/test.ts',
    );
    expect(uc.edge).toEqual({ format: 'onnx', maxAbsDelta: 1e-5, maxFlipShare: 0.001 });
  });

  it('loads every file of use-cases/ so a use case is added by adding one file', async () => {
    const all = await loadUseCases();
    expect(all.map((u) => u.name)).toContain('flight-delay');
  });

  const invalid: { what: string; change: (uc: UseCaseInput) => void; expected: string[] }[] = [
    {
      what: 'a monitoring minimum sample below 50',
      change: (uc) => {
        uc.monitoring.minSample = 10;
      },
      expected: ['monitoring.minSample', 'must be >= 50', 'got 10'],
    },
    {
      what: 'a name with capitals and spaces',
      change: (uc) => {
        uc.name = 'Flight Delay';
      },
      expected: ['name:', 'lowercase letters', 'got "Flight Delay"'],
    },
    {
      what: 'a negative TTL',
      change: (uc) => {
        const group = uc.featureGroups[0];
        if (group) group.ttlSeconds = -5;
      },
      expected: ['featureGroups[0].ttlSeconds', 'must be >= 60', 'got -5'],
    },
    {
      what: 'an unknown algorithm',
      change: (uc) => {
        (uc.model as { algorithm: unknown }).algorithm = { kind: 'random-forest' };
      },
      expected: ['model.algorithm.kind', 'must be one of "xgboost", "custom-image"', 'got "random-forest"'],
    },
    {
      what: 'a canary percentage above 50',
      change: (uc) => {
        uc.deployment.canary.percent = 90;
      },
      expected: ['deployment.canary.percent', 'must be <= 50', 'got 90'],
    },
    {
      what: 'a misspelled field',
      change: (uc) => {
        (uc.gates as Record<string, unknown>).minAUC = 0.7;
      },
      expected: ['gates', "unknown field(s) 'minAUC'"],
    },
    {
      what: 'a feature name used twice',
      change: (uc) => {
        uc.requestFeatures = [...(uc.requestFeatures ?? []), { name: 'hour', type: 'integer' }];
      },
      expected: ['requestFeatures[5].name', "duplicates feature name 'hour'", 'got "hour"'],
    },
    {
      what: 'a label that is also a feature',
      change: (uc) => {
        uc.label.name = 'distance';
      },
      expected: ['label.name', 'must differ from every feature name', 'got "distance"'],
    },
    {
      what: 'a positive-rate floor above its ceiling',
      change: (uc) => {
        uc.dataQuality.minPositiveRate = 0.9;
      },
      expected: ['dataQuality.minPositiveRate', 'must be lower than dataQuality.maxPositiveRate', 'got 0.9'],
    },
    {
      what: 'a string where a number is expected',
      change: (uc) => {
        (uc.gates as Record<string, unknown>).minAuc = 'high';
      },
      expected: ['gates.minAuc', 'must be a number', 'got "high"'],
    },
    {
      what: 'a schedule that is not an EventBridge expression',
      change: (uc) => {
        uc.monitoring.schedule = 'every hour';
      },
      expected: ['monitoring.schedule', 'EventBridge expression', 'got "every hour"'],
    },
    {
      what: 'an edge format other than ONNX',
      change: (uc) => {
        (uc as { edge: unknown }).edge = { format: 'tflite' };
      },
      expected: ['edge.format', 'got "tflite"'],
    },
    {
      what: 'a negative edge score tolerance',
      change: (uc) => {
        uc.edge = { format: 'onnx', maxAbsDelta: -1e-6 };
      },
      expected: ['edge.maxAbsDelta', 'must be >= 0', 'got -0.000001'],
    },
    {
      what: 'an edge flip share above 1',
      change: (uc) => {
        uc.edge = { format: 'onnx', maxFlipShare: 2 };
      },
      expected: ['edge.maxFlipShare', 'must be <= 1', 'got 2'],
    },
    {
      what: 'an edge export of a custom-image model',
      change: (uc) => {
        uc.model.algorithm = {
          kind: 'custom-image',
          imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/model:1',
        };
      },
      expected: ['edge:', "needs model.algorithm.kind 'xgboost'", "got 'custom-image'"],
    },
    {
      what: 'a missing required section',
      change: (uc) => {
        delete (uc as Partial<UseCaseInput>).gates;
      },
      expected: ['gates: is required'],
    },
  ];

  it.each(invalid)('rejects $what, naming the field and the value', ({ change, expected }) => {
    const message = errorOf(variant(change));
    expect(message).toContain('Invalid use case in use-cases/test.ts');
    for (const part of expected) expect(message).toContain(part);
  });

  it('lists every problem at once, not just the first', () => {
    const message = errorOf(
      variant((uc) => {
        uc.monitoring.minSample = 1;
        uc.deployment.canary.percent = 0;
      }),
    );
    expect(message).toContain('monitoring.minSample');
    expect(message).toContain('deployment.canary.percent');
  });

  it('rejects two use cases with the same name', () => {
    expect(() =>
      validateUseCases([
        { source: 'use-cases/a.ts', value: demo },
        { source: 'use-cases/b.ts', value: demo },
      ]),
    ).toThrow('name: duplicates the use case in use-cases/a.ts, got "flight-delay"');
  });

  it('rejects a feature group another use case already defines, naming both files', () => {
    const other = variant((uc) => {
      uc.name = 'flight-delay-v2';
    });
    let message = '';
    try {
      validateUseCases([
        { source: 'use-cases/a.ts', value: demo },
        { source: 'use-cases/b.ts', value: other },
      ]);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toContain('Invalid use case in use-cases/b.ts:');
    expect(message).toContain(
      `featureGroups[0].name: duplicates the feature group of use case 'flight-delay' in use-cases/a.ts; feature-group names must be unique across use cases, got "${demo.featureGroups[0]?.name}"`,
    );
    expect(message).not.toContain('\n    at ');
  });

  it('reports the problems of every file together', () => {
    const broken = variant((uc) => {
      uc.name = 'Bad Name';
    });
    const clash = variant((uc) => {
      uc.name = 'flight-delay-v2';
    });
    let message = '';
    try {
      validateUseCases([
        { source: 'use-cases/a.ts', value: demo },
        { source: 'use-cases/b.ts', value: broken },
        { source: 'use-cases/c.ts', value: clash },
      ]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('Invalid use case in use-cases/b.ts:\n  name:');
    expect(message).toContain('Invalid use case in use-cases/c.ts:\n  featureGroups[0].name: duplicates');
  });
});

describe('stage configuration', () => {
  it('defaults to dev and differs for prod', () => {
    expect(loadStage(undefined).name).toBe('dev');
    expect(loadStage('prod')).toMatchObject({
      removal: 'retain',
      requireApproval: true,
      auditLockMode: 'COMPLIANCE',
    });
    expect(loadStage('dev')).toMatchObject({
      removal: 'destroy',
      requireApproval: false,
      auditLockMode: 'GOVERNANCE',
    });
  });

  it('rejects an unknown stage naming the value', () => {
    expect(() => loadStage('qa')).toThrow(/context\.stage: must be one of "dev", "prod", got "qa"/);
  });
});
