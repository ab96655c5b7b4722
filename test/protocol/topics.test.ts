import {
  commandTopic,
  deviceCommandFilter,
  parseCommandTopic,
  parseReportTopic,
  productReportTopicFilters,
  REPORT_TOPIC_FILTERS,
  reportTopic,
} from '../../protocol';

const OBJECT_ID = '5f1d7c8e9a0b1c2d3e4f5a6b';

describe('command topics', () => {
  it('builds and parses the IotHub command topic', () => {
    const parts = {
      productName: 'lamp',
      deviceName: 'dev-1',
      commandName: '$ota_upgrade',
      encoding: 'plain' as const,
      requestId: 'req-1',
      expiresAt: 1_800_000_000_000,
    };
    const topic = commandTopic(parts);
    expect(topic).toBe('cmd/lamp/dev-1/$ota_upgrade/plain/req-1/1800000000000');
    expect(parseCommandTopic(topic)).toEqual(parts);
  });

  it('gives devices a filter for their own commands only', () => {
    expect(deviceCommandFilter({ productName: 'lamp', deviceName: 'dev-1' })).toBe('cmd/lamp/dev-1/+/+/+/+');
  });

  it.each([
    'cmd/lamp/dev-1/$ota_upgrade/plain/req-1',
    'cmd/lamp/dev-1/$ota_upgrade/hex/req-1/1',
    'cmd/lamp/dev-1/$ota_upgrade/plain/req-1/soon',
    'rpc/lamp/dev-1/$ota_upgrade/plain/req-1/1',
  ])('rejects malformed command topic %s', (topic) => {
    expect(parseCommandTopic(topic)).toBeUndefined();
  });
});

describe('report topics', () => {
  it('round-trips progress and status topics', () => {
    for (const kind of ['update_ota_status', 'update_status'] as const) {
      const topic = reportTopic({ kind, productName: 'lamp', deviceName: 'dev-1', messageId: OBJECT_ID });
      expect(parseReportTopic(topic)).toEqual({
        ok: true,
        topic: { kind, productName: 'lamp', deviceName: 'dev-1', messageId: OBJECT_ID },
      });
    }
  });

  it('subscribes to exactly the two report kinds', () => {
    expect(REPORT_TOPIC_FILTERS).toEqual(['update_ota_status/+/+/+', 'update_status/+/+/+']);
  });

  it('limits report filters to products', () => {
    expect(productReportTopicFilters(['lamp', 'plug'])).toEqual([
      'update_ota_status/lamp/+/+',
      'update_status/lamp/+/+',
      'update_ota_status/plug/+/+',
      'update_status/plug/+/+',
    ]);
  });

  it('rejects wildcards in product names', () => {
    expect(() => productReportTopicFilters(['#'])).toThrow(/productName may contain only/);
    expect(() => productReportTopicFilters(['lamp/+'])).toThrow(/productName may contain only/);
  });

  it.each([
    ['unknown kind', `update_shadow/lamp/dev-1/${OBJECT_ID}`, /unknown report topic/],
    ['missing level', 'update_status/lamp/dev-1', /4 topic levels/],
    ['extra level', `update_status/lamp/dev-1/${OBJECT_ID}/x`, /4 topic levels/],
    ['bad message id', 'update_status/lamp/dev-1/123', /ObjectId/],
    ['empty device', `update_status/lamp//${OBJECT_ID}`, /deviceName must not be empty/],
  ])('rejects a report topic with %s', (_label, topic, error) => {
    const parsed = parseReportTopic(topic);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.error).toMatch(error);
  });
});
