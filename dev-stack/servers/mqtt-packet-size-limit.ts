import type net from 'node:net';
import { Duplex } from 'node:stream';

/** Error that ends a connection whose client sent a packet above the broker's limit or a malformed packet length. */
export class MqttPacketSizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MqttPacketSizeError';
  }
}

// An MQTT 3.1.1 fixed header is one byte of packet type and flags, then the remaining length in one to
// four bytes of seven bits each, least significant first, where the high bit marks that another follows.
const MAX_LENGTH_BYTES = 4;

/**
 * Reads the fixed header of every MQTT packet in a client's byte stream, chunk by chunk, and reports a
 * packet larger than `maxPacketBytes` (fixed header included) as soon as its header is complete.
 */
export class MqttPacketSizeScanner {
  private state: 'type' | 'length' | 'body' = 'type';
  private remainingLength = 0;
  private lengthBytes = 0;
  private bodyBytesLeft = 0;

  constructor(readonly maxPacketBytes: number) {}

  /** Scans the next chunk of the stream and returns the error for the first packet above the limit in it. */
  scan(chunk: Buffer): MqttPacketSizeError | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.state === 'body') {
        const skipped = Math.min(this.bodyBytesLeft, chunk.length - offset);
        offset += skipped;
        this.bodyBytesLeft -= skipped;
        if (this.bodyBytesLeft === 0) this.state = 'type';
        continue;
      }
      if (this.state === 'type') {
        offset += 1;
        this.state = 'length';
        this.remainingLength = 0;
        this.lengthBytes = 0;
        continue;
      }

      const byte = chunk[offset]!;
      offset += 1;
      this.remainingLength += (byte & 0x7f) * 128 ** this.lengthBytes;
      this.lengthBytes += 1;
      if ((byte & 0x80) !== 0) {
        if (this.lengthBytes === MAX_LENGTH_BYTES) return new MqttPacketSizeError('malformed MQTT packet: its remaining length takes more than 4 bytes');
        continue;
      }
      const packetBytes = 1 + this.lengthBytes + this.remainingLength;
      if (packetBytes > this.maxPacketBytes) {
        return new MqttPacketSizeError(`MQTT packet of ${packetBytes} bytes is larger than the broker's limit of ${this.maxPacketBytes} bytes`);
      }
      this.bodyBytesLeft = this.remainingLength;
      this.state = this.bodyBytesLeft === 0 ? 'type' : 'body';
    }
    return undefined;
  }
}

/**
 * A client connection for `broker.handle` that passes the socket's bytes through unchanged until a
 * packet header announces a packet above the limit. Then it destroys the socket and fails with the
 * MqttPacketSizeError, which aedes reports as a client or connection error before it drops the client.
 * The check runs before the packet's body arrives, so the broker never buffers an oversized body.
 * Packets that arrived in the same socket read as the oversized packet's header are dropped with it.
 */
export class PacketSizeLimitedConnection extends Duplex {
  private readonly scanner: MqttPacketSizeScanner;

  constructor(
    private readonly socket: net.Socket,
    maxPacketBytes: number,
  ) {
    super();
    this.scanner = new MqttPacketSizeScanner(maxPacketBytes);
    socket.on('data', (chunk: Buffer) => {
      const error = this.scanner.scan(chunk);
      if (error !== undefined) {
        this.destroy(error);
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
