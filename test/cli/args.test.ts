import { parseCommandLine, type CommandLine } from '../../cli/args';
import { UsageError } from '../../cli/errors';

const FIRMWARE_OPTIONS = ['--version', '1.1', '--url', 'https://firmware.example/1.1.pkg', '--size', '1000', '--md5', 'C4CA4238A0B923820DCC509A6F75849B'];

function parse(argv: string[], env: Record<string, string | undefined> = {}): CommandLine {
  return parseCommandLine(argv, env);
}

function usageError(argv: string[], env: Record<string, string | undefined> = {}): UsageError {
  try {
    parse(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('command line parsing', () => {
  it('parses each campaign command', () => {
    expect(parse(['campaign', 'start', 'lamps.yaml']).command).toEqual({ kind: 'campaign-start', file: 'lamps.yaml' });
    expect(parse(['campaign', 'list']).command).toEqual({ kind: 'campaign-list', limit: undefined, before: undefined });
    expect(parse(['campaign', 'list', '--limit', '5', '--before', 'abc']).command).toEqual({ kind: 'campaign-list', limit: 5, before: 'abc' });
    expect(parse(['campaign', 'show', 'lamps-1.1']).command).toEqual({ kind: 'campaign-show', id: 'lamps-1.1' });
    for (const action of ['pause', 'resume', 'cancel', 'retry-failed'] as const) {
      expect(parse(['campaign', action, 'c1']).command).toEqual({ kind: 'campaign-control', action, id: 'c1' });
    }
    expect(parse(['campaign', 'devices', 'c1', '--outcome', 'timed_out', '--limit', '1000', '--after', 'dev-9']).command).toEqual({
      kind: 'campaign-devices',
      id: 'c1',
      outcome: 'timed_out',
      limit: 1000,
      after: 'dev-9',
    });
    expect(parse(['campaign', 'watch', 'c1']).command).toEqual({ kind: 'campaign-watch', id: 'c1', intervalMs: 1000 });
    expect(parse(['campaign', 'watch', 'c1', '--interval-ms', '250']).command).toEqual({ kind: 'campaign-watch', id: 'c1', intervalMs: 250 });
  });

  it('parses upgrade commands with firmware options', () => {
    expect(parse(['upgrade', 'show', 'demo', 'dev-1']).command).toEqual({ kind: 'upgrade-show', productName: 'demo', deviceName: 'dev-1' });
    expect(parse(['upgrade', 'start', 'demo', 'dev-1', ...FIRMWARE_OPTIONS]).command).toEqual({
      kind: 'upgrade-start',
      productName: 'demo',
      deviceName: 'dev-1',
      firmware: { type: 'firmware', version: '1.1', url: 'https://firmware.example/1.1.pkg', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' },
    });
    const typed = parse(['upgrade', 'start', 'demo', 'dev-1', ...FIRMWARE_OPTIONS, '--type', 'bootloader']).command;
    expect(typed).toMatchObject({ kind: 'upgrade-start', firmware: { type: 'bootloader' } });
  });

  it('takes global options anywhere', () => {
    const before = parse(['--api', 'http://127.0.0.1:4000/', '--timeout-ms', '500', '--json', 'campaign', 'show', 'c1']);
    const after = parse(['campaign', 'show', 'c1', '--json', '--timeout-ms', '500', '--api', 'http://127.0.0.1:4000/']);
    expect(before).toEqual(after);
    expect(before).toMatchObject({ options: { apiUrl: 'http://127.0.0.1:4000', timeoutMs: 500, json: true } });
  });

  it('takes the API URL from --api, then OTA_API_URL, then the default', () => {
    const options = (commandLine: CommandLine) => ('options' in commandLine ? commandLine.options : undefined);
    expect(options(parse(['campaign', 'list']))?.apiUrl).toBe('http://127.0.0.1:3000');
    expect(options(parse(['campaign', 'list'], { OTA_API_URL: 'http://127.0.0.1:4100' }))?.apiUrl).toBe('http://127.0.0.1:4100');
    expect(options(parse(['campaign', 'list', '--api', 'https://127.0.0.1/ota/'], { OTA_API_URL: 'http://127.0.0.1:4100' }))?.apiUrl).toBe(
      'https://127.0.0.1/ota',
    );
    expect(options(parse(['campaign', 'list']))?.timeoutMs).toBe(15_000);
  });

  it('returns help for each topic', () => {
    expect(parse(['--help']).command).toEqual({ kind: 'help', topic: 'main' });
    expect(parse(['-h']).command).toEqual({ kind: 'help', topic: 'main' });
    expect(parse(['help']).command).toEqual({ kind: 'help', topic: 'main' });
    expect(parse(['campaign', '--help']).command).toEqual({ kind: 'help', topic: 'campaign' });
    expect(parse(['campaign', 'watch', '--help']).command).toEqual({ kind: 'help', topic: 'campaign' });
    expect(parse(['help', 'upgrade']).command).toEqual({ kind: 'help', topic: 'upgrade' });
    // Help needs no valid API URL, so a broken environment still shows it.
    expect(parse(['--help'], { OTA_API_URL: 'not a url' }).command).toEqual({ kind: 'help', topic: 'main' });
  });

  it.each([
    [[], 'missing command: expected campaign or upgrade'],
    [['deploy'], "unknown command 'deploy': expected campaign or upgrade"],
    [['campaign'], 'missing campaign command: expected one of start, list, show, pause, resume, cancel, retry-failed, devices, watch'],
    [['campaign', 'stop', 'c1'], "unknown campaign command 'stop'"],
    [['campaign', 'show'], "missing argument ID: usage is 'ota campaign show ID'"],
    [['campaign', 'start'], "missing argument FILE: usage is 'ota campaign start FILE'"],
    [['campaign', 'show', 'c1', 'c2'], "unexpected argument 'c2' for 'ota campaign show'"],
    [['upgrade', 'show', 'demo'], "missing argument DEVICE: usage is 'ota upgrade show PRODUCT DEVICE'"],
    [['campaign', 'list', '--bogus'], 'unknown option --bogus'],
    [['campaign', 'show', 'c1', '--limit', '5'], "unknown option --limit for 'ota campaign show'"],
    [['campaign', 'watch', 'c1', '--json'], "unknown option --json for 'ota campaign watch'"],
    [['campaign', 'list', '--limit'], 'missing value for --limit'],
    [['campaign', 'list', '--json=yes'], 'option --json takes no value'],
    [['campaign', 'list', '--limit', '1', '--limit', '2'], 'option --limit is given more than once'],
    [['campaign', 'list', '--limit', '0'], "invalid --limit '0': expected a whole number from 1 to 100"],
    [['campaign', 'list', '--limit', '101'], "invalid --limit '101': expected a whole number from 1 to 100"],
    [['campaign', 'devices', 'c1', '--limit', '1001'], "invalid --limit '1001': expected a whole number from 1 to 1000"],
    [['campaign', 'devices', 'c1', '--limit', '2.5'], "invalid --limit '2.5'"],
    [['campaign', 'devices', 'c1', '--outcome', 'broken'], "invalid --outcome 'broken': expected one of succeeded, failed, timed_out, skipped, cancelled"],
    [['campaign', 'watch', 'c1', '--interval-ms', '10'], "invalid --interval-ms '10': expected a whole number from 100 to 3600000"],
    [['campaign', 'list', '--timeout-ms', '1e3'], "invalid --timeout-ms '1e3'"],
    [['campaign', 'show', 'a/b'], "invalid campaign ID 'a/b': campaign id may contain only letters"],
    [['upgrade', 'show', 'de mo', 'dev-1'], "invalid PRODUCT 'de mo': productName may contain only"],
    [['upgrade', 'show', 'demo', '..'], "invalid DEVICE '..': deviceName must contain a character other than '.'"],
    [['upgrade', 'start', 'demo', 'dev-1', '--version', '1.1'], 'missing option --url'],
    [['upgrade', 'start', 'demo', 'dev-1', ...FIRMWARE_OPTIONS.slice(0, 6), '--md5', 'xyz'], "invalid --md5 'xyz': md5 must be 32 hexadecimal digits"],
    [['upgrade', 'start', 'demo', 'dev-1', ...FIRMWARE_OPTIONS.slice(0, 4), '--size', '1e3', '--md5', 'c4ca4238a0b923820dcc509a6f75849b'], "invalid --size '1e3': size must be a whole number of bytes"],
    [['upgrade', 'start', 'demo', 'dev-1', ...FIRMWARE_OPTIONS.slice(0, 2), '--url', 'ftp://x/y', ...FIRMWARE_OPTIONS.slice(4)], "invalid --url 'ftp://x/y': url must be an absolute http or https URL"],
    [['campaign', 'list', '--api', 'localhost:3000'], "invalid API URL 'localhost:3000' (from --api): expected an absolute URL such as http://127.0.0.1:3000"],
    [['campaign', 'list', '--api', 'mqtt://127.0.0.1:1883'], "invalid API URL 'mqtt://127.0.0.1:1883' (from --api): the scheme must be http or https, not mqtt"],
    [['campaign', 'list', '--api', 'not a url'], "invalid API URL 'not a url' (from --api): expected an absolute URL"],
    [['campaign', 'list', '--api', 'http://user:secret@127.0.0.1:3000'], 'remove the user name and password'],
    [['campaign', 'list', '--api', 'http://127.0.0.1:3000/?x=1'], 'remove the query and fragment'],
  ])('rejects %j', (argv, message) => {
    expect(usageError(argv).message).toContain(message);
  });

  it('names OTA_API_URL when it is invalid', () => {
    expect(usageError(['campaign', 'list'], { OTA_API_URL: 'ftp://127.0.0.1' }).message).toBe(
      "invalid API URL 'ftp://127.0.0.1' (from OTA_API_URL): the scheme must be http or https, not ftp",
    );
  });

  it('suggests the help of the command group', () => {
    expect(usageError(['campaign', 'show']).helpCommand).toBe('ota campaign --help');
    expect(usageError(['campaign', 'list', '--limit', '0']).helpCommand).toBe('ota campaign --help');
    expect(usageError(['upgrade', 'start', 'demo', 'dev-1']).helpCommand).toBe('ota upgrade --help');
    expect(usageError(['deploy']).helpCommand).toBe('ota --help');
  });
});
