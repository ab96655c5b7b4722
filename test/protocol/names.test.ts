import {
  assertDeviceRef,
  deviceKey,
  InvalidNameError,
  MAX_NAME_LENGTH,
  parseUpgradeWorkflowId,
  upgradeWorkflowId,
} from '../../protocol';

describe('device names', () => {
  it.each([
    ['slash', 'a/b'],
    ['plus wildcard', 'a+b'],
    ['hash wildcard', 'dev#1'],
    ['dollar', '$SYS'],
    ['colon', 'a:b'],
    ['empty', ''],
    ['space', 'dev 1'],
    ['control character', 'dev\u0001'],
    ['newline', 'dev\n'],
    ['too long', 'x'.repeat(MAX_NAME_LENGTH + 1)],
    ['non-ASCII', 'dévice'],
    ['dot only', '.'],
    ['two dots only', '..'],
  ])('rejects a device name with %s', (_label, name) => {
    expect(() => assertDeviceRef('product', name)).toThrow(InvalidNameError);
  });

  it('rejects a non-string name with the field named', () => {
    expect(() => assertDeviceRef(42, 'dev')).toThrow(/productName must be a string/);
  });

  it('names the offending field in the error', () => {
    expect(() => assertDeviceRef('ok', 'a/b')).toThrow(/deviceName may contain only/);
  });

  it('accepts names IotHub generates', () => {
    expect(assertDeviceRef('IotApp_1', 'Kf3_x-9.a')).toEqual({ productName: 'IotApp_1', deviceName: 'Kf3_x-9.a' });
    expect(() => assertDeviceRef('p', 'x'.repeat(MAX_NAME_LENGTH))).not.toThrow();
  });

  it('derives workflow id and key from the device', () => {
    const ref = { productName: 'lamp', deviceName: 'dev-1' };
    expect(upgradeWorkflowId(ref)).toBe('upgrade:lamp:dev-1');
    expect(deviceKey(ref)).toBe('lamp:dev-1');
    expect(parseUpgradeWorkflowId('upgrade:lamp:dev-1')).toEqual(ref);
  });

  it.each(['campaign:x', 'upgrade:lamp', 'upgrade:lamp:dev:1', 'upgrade:la/mp:dev'])(
    'parses %s as no upgrade id',
    (workflowId) => {
      expect(parseUpgradeWorkflowId(workflowId)).toBeUndefined();
    },
  );
});
