import { Writable } from 'node:stream';
import pino from 'pino';
import { PinoSdkLogger } from '../../worker/sdk-logger';

/** Creates a PinoSdkLogger that collects its JSON lines, parsed, in `lines`. */
function collectingLogger(): { sdkLogger: PinoSdkLogger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      callback();
    },
  });
  return { sdkLogger: new PinoSdkLogger(pino({ level: 'trace' }, stream)), lines };
}

describe('PinoSdkLogger', () => {
  it('writes an error with its message and stack', () => {
    const { sdkLogger, lines } = collectingLogger();
    sdkLogger.error('Workflow failed', { workflowId: 'upgrade:lamp:dev-1', error: new Error('device never answered') });

    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toBe('Workflow failed');
    expect(lines[0]!.workflowId).toBe('upgrade:lamp:dev-1');
    expect(lines[0]!.err.message).toBe('device never answered');
    expect(lines[0]!.err.stack).toContain('device never answered');
    expect(lines[0]!.error).toBeUndefined();
  });

  it('keeps metadata without an error', () => {
    const { sdkLogger, lines } = collectingLogger();
    sdkLogger.warn('slow poll', { taskQueue: 'ota' });

    expect(lines[0]!.level).toBe(40);
    expect(lines[0]!.taskQueue).toBe('ota');
  });
});
