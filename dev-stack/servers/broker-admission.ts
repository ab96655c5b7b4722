import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
// Type-only imports: aedes is ESM-only, and this module must load in Jest, which cannot import it.
import type { AuthenticateError, Client } from 'aedes' with { 'resolution-mode': 'import' };
import type { Logger } from '../../observability/logger';

/** Username and password that the engine's own MQTT clients present to the embedded broker. */
export interface EngineCredentials {
  readonly username: string;
  readonly password: string;
}

/** Returns fresh engine credentials: the client id prefix as username and 32 random bytes as password. */
export function generateEngineCredentials(clientIdPrefix: string): EngineCredentials {
  return { username: clientIdPrefix, password: randomBytes(32).toString('base64url') };
}

// CONNACK return codes of MQTT 3.1.1, section 3.2.2.3.
const SERVER_UNAVAILABLE = 3;
const NOT_AUTHORIZED = 5;

/** Error with which the admission rejects a CONNECT. aedes sends its return code in the CONNACK. */
export class AdmissionRejectedError extends Error {
  constructor(
    message: string,
    readonly returnCode: number,
  ) {
    super(message);
    this.name = 'AdmissionRejectedError';
  }
}

type AuthenticateCallback = (error: AuthenticateError | null, success: boolean | null) => void;

interface HeldConnect {
  client: Client;
  done: AuthenticateCallback;
  timer: NodeJS.Timeout;
}

export interface BrokerAdmissionOptions {
  /** Client ids that start with it belong to the engine and require `engineCredentials`. */
  reservedClientIdPrefix: string;
  engineCredentials: EngineCredentials;
  /** Whether devices wait for `admitDevices()`. When false they are admitted from the start. */
  holdDevicesUntilAdmitted: boolean;
  /** Time a device's CONNECT waits for `admitDevices()` before it is rejected with CONNACK 3, in milliseconds. */
  deviceHoldMs: number;
  logger?: Logger;
}

/**
 * Decides which CONNECTs the embedded broker accepts, as its aedes `authenticate` hook.
 *
 * Client ids with the engine's prefix are reserved: a client must present the engine's credentials to
 * use one, so no device can take over the bridge's session. Other clients are devices and need no
 * credentials. Until `admitDevices()`, which the start command calls once the bridge has subscribed,
 * a device's CONNECT gets no CONNACK, so the device cannot publish reports before the bridge receives them.
 * A CONNECT still waiting after `deviceHoldMs` gets CONNACK 3 (server unavailable).
 *
 * The CONNECT is held instead of rejected at once because mqtt.js 5.16 does not reconnect after a
 * CONNACK rejection unless its `reconnectOnConnackError` option is set, so a rejected device would stay
 * offline. A held client connects as soon as the gate opens, or times out and reconnects by itself.
 */
export class BrokerAdmission {
  private devicesAdmitted: boolean;
  private readonly held = new Set<HeldConnect>();
  private rejectedWhileHeld = 0;
  private readonly expectedPasswordDigest: Buffer;

  constructor(private readonly options: BrokerAdmissionOptions) {
    this.devicesAdmitted = !options.holdDevicesUntilAdmitted;
    this.expectedPasswordDigest = digest(Buffer.from(options.engineCredentials.password, 'utf8'));
  }

  /** The aedes `authenticate` hook. */
  readonly authenticate = (client: Client, username: string | undefined, password: Buffer | undefined, done: AuthenticateCallback): void => {
    if (client.id.startsWith(this.options.reservedClientIdPrefix)) {
      this.authenticateEngine(client, username, password, done);
      return;
    }
    if (this.devicesAdmitted) {
      done(null, true);
      return;
    }
    this.hold(client, done);
  };

  /** Accepts the devices whose CONNECT is waiting, and every device from now on. */
  admitDevices(): void {
    if (this.devicesAdmitted) return;
    this.devicesAdmitted = true;
    const waiting = [...this.held].filter((entry) => !entry.client.closed).length;
    for (const entry of this.held) {
      clearTimeout(entry.timer);
      entry.done(null, true);
    }
    this.held.clear();
    this.options.logger?.info({ waiting, rejected: this.rejectedWhileHeld }, 'embedded MQTT broker: admitting devices');
  }

  /** Rejects the CONNECTs still waiting with CONNACK 3, for a broker that is stopping. */
  close(): void {
    for (const entry of this.held) {
      clearTimeout(entry.timer);
      entry.done(serverUnavailable('the broker is stopping'), false);
    }
    this.held.clear();
  }

  private authenticateEngine(client: Client, username: string | undefined, password: Buffer | undefined, done: AuthenticateCallback): void {
    if (this.isEngine(username, password)) {
      done(null, true);
      return;
    }
    const reason = username === undefined && password === undefined ? 'no credentials' : 'wrong credentials';
    this.options.logger?.warn(
      { clientId: client.id, reason, prefix: this.options.reservedClientIdPrefix },
      'embedded MQTT broker: rejected a client that uses a client id reserved for the engine',
    );
    done(toAuthenticateError(new AdmissionRejectedError(`client id ${client.id} is reserved for the engine (${reason})`, NOT_AUTHORIZED)), false);
  }

  private isEngine(username: string | undefined, password: Buffer | undefined): boolean {
    if (username !== this.options.engineCredentials.username || password === undefined) return false;
    // Comparing digests of equal length lets timingSafeEqual compare passwords of any length.
    return timingSafeEqual(digest(password), this.expectedPasswordDigest);
  }

  private hold(client: Client, done: AuthenticateCallback): void {
    const entry: HeldConnect = {
      client,
      done,
      timer: setTimeout(() => {
        this.held.delete(entry);
        this.rejectedWhileHeld += 1;
        if (this.rejectedWhileHeld === 1) {
          this.options.logger?.warn(
            { clientId: client.id, holdMs: this.options.deviceHoldMs },
            'embedded MQTT broker: rejected a device with CONNACK 3 because the bridge is not subscribed yet. Later rejections are counted',
          );
        }
        done(serverUnavailable('the engine is not ready to receive device reports yet'), false);
      }, this.options.deviceHoldMs),
    };
    this.held.add(entry);
    this.options.logger?.debug({ clientId: client.id }, 'embedded MQTT broker: holding a device CONNECT until the bridge has subscribed');
  }
}

function serverUnavailable(message: string): AuthenticateError {
  return toAuthenticateError(new AdmissionRejectedError(message, SERVER_UNAVAILABLE));
}

// AuthenticateError types returnCode as aedes's const enum, which this file cannot import as a value.
function toAuthenticateError(error: AdmissionRejectedError): AuthenticateError {
  return error as unknown as AuthenticateError;
}

function digest(value: Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}
