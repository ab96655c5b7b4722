import { otaUpgradePayloadSchema, progressReportSchema, statusReportSchema } from '../../protocol';

const VALID_FIRMWARE = {
  type: 'firmware',
  url: 'http://firmware.example/1.1.pkg',
  version: '1.1',
  size: 1000,
  md5: 'D41D8CD98F00B204E9800998ECF8427E',
};

function firstMessage(result: { success: boolean; error?: { issues: { message: string }[] } }): string {
  return result.error?.issues[0]?.message ?? '';
}

describe('$ota_upgrade payload', () => {
  it('accepts the IotHub fields and lower-cases the md5', () => {
    const parsed = otaUpgradePayloadSchema.parse(VALID_FIRMWARE);
    expect(parsed.md5).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });

  it('rejects a size given as a string', () => {
    expect(otaUpgradePayloadSchema.safeParse({ ...VALID_FIRMWARE, size: '1000' }).success).toBe(false);
  });

  it.each([
    ['md5 of 4 digits', { md5: 'abcd' }, /32 hexadecimal/],
    ['ftp URL', { url: 'ftp://firmware.example/x' }, /http or https/],
    ['relative URL', { url: '/x.pkg' }, /http or https/],
    ['URL with a raw NUL', { url: 'http://firmware.example/1.1.pkg\u0000.txt' }, /control/],
    ['URL with a raw space', { url: 'http://firmware.example/a b.pkg' }, /spaces/],
    ['negative size', { size: -1 }, /greater than 0/],
    ['fractional size', { size: 1.5 }, /whole number/],
    ['absurd size', { size: 2 ** 40 }, /at most/],
    ['boolean size', { size: true }, /whole number/],
    ['size with letters', { size: '10kb' }, /whole number/],
    ['version with a slash', { version: '1/1' }, /version may contain only/],
    ['empty type', { type: '' }, /type must not be empty/],
  ])('rejects %s', (_label, change, message) => {
    const result = otaUpgradePayloadSchema.safeParse({ ...VALID_FIRMWARE, ...change });
    expect(result.success).toBe(false);
    expect(firstMessage(result)).toMatch(message);
  });

  it('rejects unknown fields', () => {
    const result = otaUpgradePayloadSchema.safeParse({ ...VALID_FIRMWARE, extra: 1 });
    expect(result.success).toBe(false);
  });
});

describe('progress report', () => {
  it.each([0, 55, 100, -1, -2, -3, -4])('accepts progress %d', (progress) => {
    expect(progressReportSchema.safeParse({ version: '1.1', type: 'firmware', progress, desc: 'download' }).success).toBe(true);
  });

  it.each([101, -5, 50.5, '50', null])('rejects progress %p', (progress) => {
    expect(progressReportSchema.safeParse({ version: '1.1', type: 'firmware', progress }).success).toBe(false);
  });

  it('rejects a report without a version', () => {
    expect(progressReportSchema.safeParse({ type: 'firmware', progress: 10 }).success).toBe(false);
  });
});

describe('status report', () => {
  it('accepts flat reported fields', () => {
    const fields = { firmware_ver: '1.1', battery: 87, charging: false, note: null };
    expect(statusReportSchema.parse(fields)).toEqual(fields);
  });

  it.each([
    ['numeric firmware_ver', { firmware_ver: 1.1 }],
    ['nested object', { firmware_ver: '1.1', nested: { a: 1 } }],
    ['dotted field name', { 'a.b': 1 }],
    ['dollar field name', { $set: 1 }],
    ['array body', [1, 2]],
    ['too many fields', Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, i]))],
  ])('rejects %s', (_label, body) => {
    expect(statusReportSchema.safeParse(body).success).toBe(false);
  });
});
