import { MqttPacketSizeError, MqttPacketSizeScanner } from '../../dev-stack/servers/mqtt-packet-size-limit';

// Encodes an MQTT remaining length as MQTT 3.1.1 section 2.2.3 describes it.
function encodeRemainingLength(length: number): number[] {
  const bytes: number[] = [];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0);
  return bytes;
}

function packet(remainingLength: number): Buffer {
  // 0x30 is a QoS 0 PUBLISH; the scanner reads only the header, so the body can be zeros.
  return Buffer.concat([Buffer.from([0x30, ...encodeRemainingLength(remainingLength)]), Buffer.alloc(remainingLength)]);
}

describe('MqttPacketSizeScanner', () => {
  test('accepts packets up to the limit', () => {
    const scanner = new MqttPacketSizeScanner(1024);

    expect(scanner.scan(packet(0))).toBeUndefined();
    expect(scanner.scan(packet(100))).toBeUndefined();
    // 1 type byte + 2 length bytes + 1021 body bytes = 1024 bytes.
    expect(scanner.scan(packet(1021))).toBeUndefined();
  });

  test('rejects a packet one byte above the limit', () => {
    const scanner = new MqttPacketSizeScanner(1024);

    const error = scanner.scan(packet(1022));

    expect(error).toBeInstanceOf(MqttPacketSizeError);
    expect(error?.message).toBe("MQTT packet of 1025 bytes is larger than the broker's limit of 1024 bytes");
  });

  test('rejects from the header alone', () => {
    const scanner = new MqttPacketSizeScanner(64 * 1024);
    const header = Buffer.from([0x30, ...encodeRemainingLength(100 * 1024 * 1024)]);

    expect(scanner.scan(header)?.message).toMatch(/^MQTT packet of 104857605 bytes is larger/);
  });

  test('follows packets split across chunks', () => {
    const scanner = new MqttPacketSizeScanner(300);
    const stream = Buffer.concat([packet(200), packet(150), packet(290)]);

    // One byte at a time splits every header and every body.
    const errors = [...stream].map((byte) => scanner.scan(Buffer.from([byte])));

    expect(errors.filter((error) => error !== undefined)).toEqual([]);
  });

  test('finds an oversized packet after small ones in one chunk', () => {
    const scanner = new MqttPacketSizeScanner(300);
    const stream = Buffer.concat([packet(10), packet(0), packet(400)]);

    expect(scanner.scan(stream)?.message).toMatch(/^MQTT packet of 403 bytes/);
  });

  test('rejects a remaining length of five bytes', () => {
    const scanner = new MqttPacketSizeScanner(1024);

    const error = scanner.scan(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]));

    expect(error?.message).toBe('malformed MQTT packet: its remaining length takes more than 4 bytes');
  });
});
