import { WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import { CampaignControlTimeoutError, CampaignService } from '../../api/campaign-service';
import type { MongoCampaignStorage } from '../../storage/campaign-storage';
import { TEST_UPGRADE_DEFAULTS } from '../support/engine-harness';

/** Builds a CampaignService whose campaign exists and whose update call fails with `error`. */
function serviceFailingWith(error: Error): CampaignService {
  const client = {
    withDeadline: (_deadline: number, action: () => Promise<unknown>) => action(),
    workflow: {
      getHandle: () => ({
        executeUpdate: async () => {
          throw error;
        },
      }),
    },
  } as unknown as Client;
  const storage = { campaigns: { get: async () => ({ _id: 'lamps-1.1', workflow_id: 'campaign:lamps-1.1' }) } } as unknown as MongoCampaignStorage;
  return new CampaignService(client, 'ota-upgrades', storage, TEST_UPGRADE_DEFAULTS);
}

describe('campaign control timeout', () => {
  it('maps a cancelled update call', async () => {
    const cancelled = new WorkflowUpdateRPCTimeoutOrCancelledError('Call cancelled', { cause: Object.assign(new Error('1 CANCELLED: Call cancelled'), { code: 1 }) });
    await expect(serviceFailingWith(cancelled).control('lamps-1.1', 'pause')).rejects.toThrow(CampaignControlTimeoutError);
  });

  it('maps a deadline status', async () => {
    const deadline = Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4, details: '', metadata: {} });
    const rejection = serviceFailingWith(deadline).control('lamps-1.1', 'resume');
    await expect(rejection).rejects.toThrow(CampaignControlTimeoutError);
    await expect(rejection).rejects.toThrow('campaign lamps-1.1 did not confirm resume within 10 s');
  });

  it('passes other errors on', async () => {
    await expect(serviceFailingWith(new Error('boom')).control('lamps-1.1', 'cancel')).rejects.toThrow('boom');
  });
});
