import { stopTestServers, TEST_SERVERS_GLOBAL, type TestServers } from './global-setup';

/** Stops the servers that the global setup started. */
export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as Record<string, unknown>)[TEST_SERVERS_GLOBAL] as TestServers | undefined;
  // Undefined when the setup failed; it has already stopped whatever it had started.
  if (servers === undefined) return;
  await stopTestServers(servers);
}
