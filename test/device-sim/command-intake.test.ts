import { inspectCommand, RecentRequestIds } from '../../device-sim/command-intake';
import { commandTopic } from '../../protocol';

const device = { productName: 'sim', deviceName: 'dev-00001' };
const now = 1_700_000_000_000;
const payload = {
  type: 'firmware',
  url: 'http://firmware.example/1.1.pkg',
  version: '1.1',
  size: 1000,
  md5: 'C4CA4238A0B923820DCC509A6F75849B',
};

function topic(overrides: Partial<Parameters<typeof commandTopic>[0]> = {}): string {
  return commandTopic({ ...device, commandName: '$ota_upgrade', encoding: 'plain', requestId: 'req-1', expiresAt: now + 60_000, ...overrides });
}

function inspect(commandTopicText: string, body: string | Buffer, seen = new RecentRequestIds()) {
  return inspectCommand(device, commandTopicText, Buffer.isBuffer(body) ? body : Buffer.from(body), now, seen);
}

describe('inspectCommand', () => {
  it('accepts a valid command', () => {
    const record = inspect(topic(), JSON.stringify(payload));
    expect(record.outcome).toBe('accepted');
    expect(record.requestId).toBe('req-1');
    expect(record.expiresAt).toBe(now + 60_000);
    expect(record.receivedAt).toBe(now);
    expect(record.payload?.md5).toBe('c4ca4238a0b923820dcc509a6f75849b');
  });

  it('decodes base64 payloads', () => {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64');
    expect(inspect(topic({ encoding: 'base64' }), body).outcome).toBe('accepted');
  });

  it('ignores an expired command', () => {
    const record = inspect(topic({ expiresAt: now - 1 }), JSON.stringify(payload));
    expect(record.outcome).toBe('expired');
    expect(record.reason).toMatch(/expired at .*1 ms before it arrived/);
  });

  it('accepts a command that expires right now', () => {
    expect(inspect(topic({ expiresAt: now }), JSON.stringify(payload)).outcome).toBe('accepted');
  });

  it('ignores a redelivered request id', () => {
    const seen = new RecentRequestIds();
    expect(inspect(topic(), JSON.stringify(payload), seen).outcome).toBe('accepted');
    const again = inspect(topic(), JSON.stringify(payload), seen);
    expect(again.outcome).toBe('duplicate');
    expect(again.reason).toMatch(/req-1 was already received/);
  });

  it('ignores unsupported commands', () => {
    const record = inspect(topic({ commandName: 'reboot' }), '{}');
    expect(record.outcome).toBe('unsupported');
    expect(record.reason).toMatch(/'reboot' is not supported/);
  });

  it('rejects a payload that is not JSON', () => {
    const record = inspect(topic(), 'not json');
    expect(record.outcome).toBe('invalid');
    expect(record.reason).toMatch(/not valid JSON/);
  });

  it('rejects a payload the schema rejects', () => {
    const record = inspect(topic(), JSON.stringify({ ...payload, md5: 'abc', url: 'ftp://x' }));
    expect(record.outcome).toBe('invalid');
    expect(record.reason).toMatch(/md5 must be 32 hexadecimal digits/);
    expect(record.reason).toMatch(/url must be an absolute http or https URL/);
  });

  it('rejects a topic for another device', () => {
    const record = inspect(commandTopic({ productName: 'sim', deviceName: 'dev-00002', commandName: '$ota_upgrade', encoding: 'plain', requestId: 'r', expiresAt: now + 1 }), JSON.stringify(payload));
    expect(record.outcome).toBe('invalid');
    expect(record.reason).toMatch(/addressed to sim\/dev-00002/);
  });

  it('rejects a malformed topic', () => {
    const record = inspect('cmd/sim/dev-00001/$ota_upgrade/gzip/req/123', JSON.stringify(payload));
    expect(record.outcome).toBe('invalid');
    expect(record.requestId).toBeUndefined();
  });
});

describe('RecentRequestIds', () => {
  it('forgets the oldest id past its capacity', () => {
    const ids = new RecentRequestIds(2);
    expect(ids.checkAndAdd('a')).toBe(false);
    expect(ids.checkAndAdd('b')).toBe(false);
    expect(ids.checkAndAdd('c')).toBe(false);
    expect(ids.checkAndAdd('a')).toBe(false);
    expect(ids.checkAndAdd('c')).toBe(true);
  });
});
