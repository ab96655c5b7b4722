import { usageText } from '../../cli/usage';

describe('help text', () => {
  it.each([
    ['main', ['--api URL', '--timeout-ms N', '--json', '--help', 'campaign start FILE', 'upgrade show PRODUCT DEVICE']],
    ['campaign', ['--limit N', '--before CURSOR', '--outcome OUTCOME', '--after NAME', '--interval-ms N', '--api URL', '--timeout-ms N', '--json']],
    ['upgrade', ['--version V', '--url U', '--size N', '--md5 M', '--type T', '--api URL', '--timeout-ms N', '--json']],
  ] as const)('%s help names every option', (topic, options) => {
    const text = usageText(topic);
    for (const option of options) expect(text).toContain(option);
  });

  it('states units and defaults', () => {
    const campaign = usageText('campaign');
    expect(campaign).toContain('time one request may take, in ms, from 100 to 600000 (default 15000)');
    expect(campaign).toContain('time between two reads, in ms, at least 100 (default 1000)');
    expect(campaign).toContain('campaigns per page, from 1 to 100 (default 20)');
    expect(campaign).toContain('devices per page, from 1 to 1000 (default 100)');
    expect(campaign).toContain('succeeded, failed, timed_out, skipped, cancelled (default: all)');
    expect(usageText('main')).toContain('(default: OTA_API_URL, else http://127.0.0.1:3000)');
    expect(usageText('upgrade')).toContain('package size in bytes');
    expect(usageText('upgrade')).toContain('package type (default firmware)');
  });

  it('lists the exit codes', () => {
    for (const topic of ['main', 'campaign', 'upgrade'] as const) {
      expect(usageText(topic)).toMatch(/Exit codes: 0 success; 1 .+; 2 invalid command line or input file.+; 130 Ctrl-C\./s);
    }
  });
});
