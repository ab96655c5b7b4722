import { BoundedLruMap } from '../../api/auth/bounded-lru-map';
import { DENIAL_LOG_INTERVAL_MS, DenialLog } from '../../api/auth/denial-log';
import { RateLimiter } from '../../api/auth/rate-limiter';
import { TokenBucket } from '../../api/auth/token-bucket';

// The rate limiter's parts on a fake clock, in milliseconds.

describe('TokenBucket', () => {
  it('allows the burst, then reports the wait for one token', () => {
    const bucket = new TokenBucket(3, 2, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([0, 0, 0]);
    expect(bucket.take(0)).toBe(500);
  });

  it('refills at its rate up to its capacity', () => {
    const bucket = new TokenBucket(2, 4, 0);
    bucket.take(0);
    bucket.take(0);
    expect(bucket.take(250)).toBe(0);
    expect(bucket.take(250)).toBe(250);
    expect(bucket.isFull(10_000)).toBe(true);
    expect([bucket.take(10_000), bucket.take(10_000)]).toEqual([0, 0]);
    expect(bucket.take(10_000)).toBeGreaterThan(0);
  });

  it('ignores a clock that goes backwards', () => {
    const bucket = new TokenBucket(1, 1, 1_000);
    expect(bucket.take(1_000)).toBe(0);
    expect(bucket.take(0)).toBe(1_000);
  });
});

describe('RateLimiter', () => {
  it('keeps a bucket per client', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 2 }, () => now);
    expect(limiter.take('token a')).toEqual({ allowed: true });
    expect(limiter.take('token a')).toEqual({ allowed: true });
    expect(limiter.take('token a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take('token b')).toEqual({ allowed: true });
    now = 1_000;
    expect(limiter.take('token a')).toEqual({ allowed: true });
  });

  it('rounds Retry-After up to whole seconds', () => {
    const limiter = new RateLimiter({ perSecond: 0.3, burst: 1 }, () => 0);
    limiter.take('client');
    // One token takes 3.33 s at 0.3 per second.
    expect(limiter.take('client')).toEqual({ allowed: false, retryAfterSeconds: 4 });
  });

  it('tracks at most maxClients clients', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 5 }, () => now, 100);
    for (let client = 0; client < 1_000; client += 1) {
      limiter.take(`address 10.0.${Math.floor(client / 256)}.${client % 256}`);
      now += 1;
    }
    expect(limiter.trackedClients).toBe(100);
  });

  it('forgets refilled buckets before drained ones', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 2 }, () => now, 3);
    limiter.take('busy');
    limiter.take('busy');
    limiter.take('idle-1');
    limiter.take('idle-2');
    // 'busy' is the least recently used, but only the idle clients have refilled after 1.5 s.
    now = 1_500;
    limiter.take('new');
    expect(limiter.trackedClients).toBe(2);
    now = 1_600;
    expect(limiter.take('busy')).toEqual({ allowed: true });
    expect(limiter.take('busy')).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });
});

describe('BoundedLruMap', () => {
  it('evicts the least recently used entry', () => {
    const map = new BoundedLruMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    expect(map.get('a')).toBe(1);
    map.set('c', 3);
    expect(map.get('b')).toBeUndefined();
    expect(map.get('a')).toBe(1);
    expect(map.get('c')).toBe(3);
    expect(map.size).toBe(2);
  });

  it('rejects a maximum below 1', () => {
    expect(() => new BoundedLruMap(0)).toThrow('maxEntries must be a whole number of at least 1, got 0');
  });
});

describe('DenialLog', () => {
  it('logs one line per client and reason per interval, counting the rest', () => {
    let now = 0;
    const log = new DenialLog(() => now);
    expect(log.record('invalid_token address 10.0.0.1')).toBe(0);
    expect(log.record('invalid_token address 10.0.0.1')).toBeUndefined();
    expect(log.record('invalid_token address 10.0.0.1')).toBeUndefined();
    expect(log.record('missing_token address 10.0.0.1')).toBe(0);
    now = DENIAL_LOG_INTERVAL_MS;
    expect(log.record('invalid_token address 10.0.0.1')).toBe(2);
    expect(log.record('invalid_token address 10.0.0.1')).toBeUndefined();
  });

  it('limits lines across many clients', () => {
    const log = new DenialLog(() => 0);
    let logged = 0;
    for (let client = 0; client < 500; client += 1) if (log.record(`invalid_token address 10.0.1.${client}`) !== undefined) logged += 1;
    expect(logged).toBe(20);
  });
});
