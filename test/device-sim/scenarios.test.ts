import {
  formatScenarioSequence,
  parseScenarioSequenceText,
  parseScenarioText,
  SCENARIO_KINDS,
  scenarioForAttempt,
  scenarioSequenceSchema,
  scenarioSchema,
} from '../../device-sim/scenarios';
import { assignScenarios, formatScenarioMix, parseScenarioMixJson, parseScenarioMixText } from '../../device-sim/scenario-mix';
import { resolveTimings } from '../../device-sim/timings';

describe('parseScenarioText', () => {
  it.each([
    ['success', { kind: 'success' }],
    ['stall', { kind: 'stall', atPercent: 40 }],
    ['stall@60', { kind: 'stall', atPercent: 60 }],
    ['download_error@0', { kind: 'download_error', atPercent: 0 }],
    ['download_error', { kind: 'download_error', atPercent: 40 }],
    ['md5_error', { kind: 'md5_error' }],
    ['install_error', { kind: 'install_error' }],
    ['other_error', { kind: 'other_error', atPercent: 0 }],
    ['other_error@100', { kind: 'other_error', atPercent: 100 }],
    ['reboot_old_version', { kind: 'reboot_old_version' }],
    ['duplicates', { kind: 'duplicates' }],
    ['out_of_order', { kind: 'out_of_order' }],
    ['stale_reports', { kind: 'stale_reports' }],
    ['stale_reports@0.9', { kind: 'stale_reports', staleVersion: '0.9' }],
    [' silent ', { kind: 'silent' }],
  ])('parses %s', (text, expected) => {
    expect(parseScenarioText(text)).toEqual(expected);
  });

  it.each([
    ['unknown', /unknown scenario 'unknown'/],
    ['', /unknown scenario ''/],
    ['stall@101', /at most 100|<=100|100/],
    ['stall@-1', /not a whole percentage/],
    ['stall@4.5', /not a whole percentage/],
    ['stall@abc', /not a whole percentage/],
    ['success@10', /'success' takes no '@' argument/],
    ['stall@10@20', /expected 'kind' or 'kind@argument'/],
    ['stale_reports@bad version', /invalid scenario/],
  ])('rejects %j', (text, message) => {
    expect(() => parseScenarioText(text)).toThrow(message);
  });

  it('knows every scenario kind', () => {
    expect([...SCENARIO_KINDS].sort()).toEqual(
      [
        'download_error',
        'duplicates',
        'install_error',
        'md5_error',
        'other_error',
        'out_of_order',
        'reboot_old_version',
        'silent',
        'stale_reports',
        'stall',
        'success',
      ].sort(),
    );
  });
});

describe('scenario sequences', () => {
  it('parses attempts joined by +', () => {
    expect(parseScenarioSequenceText('download_error@40+stall@20+success')).toEqual([
      { kind: 'download_error', atPercent: 40 },
      { kind: 'stall', atPercent: 20 },
      { kind: 'success' },
    ]);
  });

  it('rejects an empty entry', () => {
    expect(() => parseScenarioSequenceText('success++stall')).toThrow(/empty entry/);
  });

  it('formats back to the same text', () => {
    const text = 'download_error@40+stale_reports@0.9+other_error@0+success';
    expect(formatScenarioSequence(parseScenarioSequenceText(text))).toBe(text);
  });

  it('uses the last scenario once the list is used up', () => {
    const sequence = parseScenarioSequenceText('md5_error+success');
    expect(scenarioForAttempt(sequence, 1).kind).toBe('md5_error');
    expect(scenarioForAttempt(sequence, 2).kind).toBe('success');
    expect(scenarioForAttempt(sequence, 7).kind).toBe('success');
  });

  it('schema accepts one scenario or a list', () => {
    expect(scenarioSequenceSchema.parse({ kind: 'stall' })).toEqual([{ kind: 'stall', atPercent: 40 }]);
    expect(scenarioSequenceSchema.parse([{ kind: 'silent' }, { kind: 'success' }])).toEqual([{ kind: 'silent' }, { kind: 'success' }]);
    expect(scenarioSequenceSchema.safeParse([]).success).toBe(false);
  });

  it('schema rejects unknown fields', () => {
    expect(scenarioSchema.safeParse({ kind: 'success', atPercent: 10 }).success).toBe(false);
    expect(scenarioSchema.safeParse({ kind: 'stall', atPercent: 120 }).success).toBe(false);
  });
});

describe('scenario mix', () => {
  it('parses weights and sequences', () => {
    const mix = parseScenarioMixText('success=90,download_error@40+success=5,stall@60=5');
    expect(mix.entries).toEqual([
      { weight: 90, scenarios: [{ kind: 'success' }] },
      { weight: 5, scenarios: [{ kind: 'download_error', atPercent: 40 }, { kind: 'success' }] },
      { weight: 5, scenarios: [{ kind: 'stall', atPercent: 60 }] },
    ]);
    expect(formatScenarioMix(mix)).toBe('success=90,download_error@40+success=5,stall@60=5');
  });

  it.each([
    ['success', /expected 'scenario=weight'/],
    ['success=0', /must be a number greater than 0/],
    ['success=x', /must be a number greater than 0/],
    ['success=', /must be a number greater than 0/],
    ['nonsense=10', /unknown scenario 'nonsense'/],
  ])('rejects %j', (text, message) => {
    expect(() => parseScenarioMixText(text)).toThrow(message);
  });

  it('reads the JSON form', () => {
    const mix = parseScenarioMixJson(
      { entries: [{ weight: 3, scenarios: { kind: 'success' } }, { weight: 1, scenarios: [{ kind: 'stall', atPercent: 60 }, { kind: 'success' }] }] },
      'mix.json',
    );
    expect(mix.entries[0]?.scenarios).toEqual([{ kind: 'success' }]);
    expect(mix.entries[1]?.scenarios).toEqual([{ kind: 'stall', atPercent: 60 }, { kind: 'success' }]);
  });

  it('names the invalid JSON field', () => {
    expect(() => parseScenarioMixJson({ entries: [{ weight: -1, scenarios: { kind: 'success' } }] }, 'mix.json')).toThrow(
      /invalid scenario mix in mix\.json: entries\.0\.weight/,
    );
  });

  it('assigns exact shares of 100 devices', () => {
    const assigned = assignScenarios(parseScenarioMixText('success=90,download_error=5,stall=5'), 100);
    const counts = new Map<string, number>();
    for (const sequence of assigned) counts.set(formatScenarioSequence(sequence), (counts.get(formatScenarioSequence(sequence)) ?? 0) + 1);
    expect(assigned).toHaveLength(100);
    expect(counts.get('success')).toBe(90);
    expect(counts.get('download_error@40')).toBe(5);
    expect(counts.get('stall@40')).toBe(5);
  });

  it('spreads a small share over the fleet', () => {
    const assigned = assignScenarios(parseScenarioMixText('success=3,silent=1'), 8);
    const silentPositions = assigned.flatMap((sequence, index) => (sequence[0]?.kind === 'silent' ? [index] : []));
    expect(silentPositions).toHaveLength(2);
    expect(silentPositions[1]! - silentPositions[0]!).toBe(4);
  });

  it('is deterministic', () => {
    const mix = parseScenarioMixText('success=7,md5_error=2,silent=1');
    expect(assignScenarios(mix, 33)).toEqual(assignScenarios(mix, 33));
  });
});

describe('resolveTimings', () => {
  it('fills the demo defaults', () => {
    expect(resolveTimings()).toEqual({ stepIntervalMs: 2000, steps: 5, installDelayMs: 3000 });
    expect(resolveTimings({ steps: 10 })).toEqual({ stepIntervalMs: 2000, steps: 10, installDelayMs: 3000 });
  });

  it('names the invalid field', () => {
    expect(() => resolveTimings({ steps: 0 })).toThrow(/invalid simulator timings: steps/);
    expect(() => resolveTimings({ stepIntervalMs: -1 })).toThrow(/stepIntervalMs/);
  });
});
