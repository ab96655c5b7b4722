import type { CampaignView } from '../workflows/campaign-types';
import { BENCH_FIRMWARE, BENCH_PRODUCT, type Workload } from './workload';

/**
 * Starts one campaign over every registered device, with the workload's window and the highest start
 * rate the API accepts. Each device gets generous timeouts and one attempt, so the run measures
 * throughput, and every device that does not succeed shows up in the counts instead of being retried.
 */
export async function createCampaign(apiUrl: string, id: string, workload: Workload, size: number): Promise<void> {
  const body = {
    id,
    productName: BENCH_PRODUCT,
    target: { kind: 'all' },
    firmware: BENCH_FIRMWARE,
    rollout: { maxConcurrent: Math.min(workload.window, 10_000), maxStartsPerMinute: 1_000_000 },
    upgrade: { stallTimeoutMs: 60_000, verifyTimeoutMs: 60_000, attemptTimeoutMs: 3_600_000, commandTtlMs: 3_600_000, maxAttempts: 1 },
  };
  const response = await fetch(`${apiUrl}/campaigns`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST /campaigns for ${size} devices returned HTTP ${response.status}: ${text}`);
}

/** Reads the campaign through the API: its view (live, stored, or the result once ended) and the workflow's status. */
export async function readCampaign(apiUrl: string, id: string): Promise<{ view: CampaignView | null; workflowStatus: string | null }> {
  const response = await fetch(`${apiUrl}/campaigns/${id}`, { signal: AbortSignal.timeout(15_000) });
  if (response.status !== 200) throw new Error(`GET /campaigns/${id} returned HTTP ${response.status}: ${await response.text()}`);
  return (await response.json()) as { view: CampaignView | null; workflowStatus: string | null };
}
