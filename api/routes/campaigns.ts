import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  CampaignConflictError,
  CampaignControlTimeoutError,
  CampaignNotFoundError,
  InvalidCampaignRequestError,
  InvalidCursorError,
  type CampaignAction,
  type CampaignService,
} from '../campaign-service';
import {
  campaignIdParamsSchema,
  createCampaignRequestSchema,
  listCampaignsQuerySchema,
  listDevicesQuerySchema,
  MAX_CAMPAIGN_BODY_BYTES,
} from '../campaign-request';
import { parseOrReply, readObjectBody, replyInvalid } from '../validation';

/** Campaign routes: create, list, read, control and retry campaigns, and list their devices' outcomes. */
export function registerCampaignRoutes(app: FastifyInstance, deps: { campaigns: CampaignService }): void {
  const { campaigns } = deps;

  app.post('/campaigns', { bodyLimit: MAX_CAMPAIGN_BODY_BYTES }, async (request, reply) => {
    const raw = readObjectBody(request, reply);
    if (!raw) return reply;
    const body = parseOrReply(reply, createCampaignRequestSchema, raw);
    if (!body) return reply;
    let result;
    try {
      result = await campaigns.create(body, new Date());
    } catch (error) {
      if (error instanceof InvalidCampaignRequestError) return replyInvalid(reply, error.problems);
      throw error;
    }
    const { created, campaign } = result;
    request.log.info({ campaignId: campaign.id, workflowId: campaign.workflowId, created }, created ? 'campaign created' : 'campaign already exists');
    return reply.code(created ? 201 : 200).send(campaign);
  });

  app.get('/campaigns', async (request, reply) => {
    const query = parseOrReply(reply, listCampaignsQuerySchema, request.query);
    if (!query) return reply;
    return handleErrors(reply, () => campaigns.list(query.limit, query.before));
  });

  app.get('/campaigns/:id', async (request, reply) => {
    const params = parseOrReply(reply, campaignIdParamsSchema, request.params);
    if (!params) return reply;
    return handleErrors(reply, () => campaigns.get(params.id));
  });

  app.get('/campaigns/:id/devices', async (request, reply) => {
    const params = parseOrReply(reply, campaignIdParamsSchema, request.params);
    if (!params) return reply;
    const query = parseOrReply(reply, listDevicesQuerySchema, request.query);
    if (!query) return reply;
    return handleErrors(reply, () => campaigns.devices(params.id, query));
  });

  for (const action of ['pause', 'resume', 'cancel'] as const satisfies readonly CampaignAction[]) {
    app.post(`/campaigns/:id/${action}`, async (request, reply) => {
      const params = parseOrReply(reply, campaignIdParamsSchema, request.params);
      if (!params) return reply;
      return handleErrors(reply, async () => {
        const view = await campaigns.control(params.id, action);
        request.log.info({ campaignId: params.id, action, state: view.state }, 'campaign control applied');
        return view;
      });
    });
  }

  app.post('/campaigns/:id/retry-failed', async (request, reply) => {
    const params = parseOrReply(reply, campaignIdParamsSchema, request.params);
    if (!params) return reply;
    return handleErrors(reply, async () => {
      const view = await campaigns.retryFailed(params.id);
      request.log.info({ campaignId: params.id, round: view.round }, 'campaign retry round started');
      return view;
    });
  });
}

/** Maps the service's errors to 404, 409, 400 and 503; anything else goes to the server's error handler. */
async function handleErrors<T>(reply: FastifyReply, action: () => Promise<T>): Promise<FastifyReply> {
  try {
    return reply.send(await action());
  } catch (error) {
    if (error instanceof CampaignNotFoundError) return reply.code(404).send({ error: 'not found', message: error.message });
    if (error instanceof CampaignConflictError) return reply.code(409).send({ error: 'conflict', message: error.message });
    if (error instanceof InvalidCursorError) return reply.code(400).send({ error: 'invalid request', message: error.message });
    if (error instanceof CampaignControlTimeoutError) {
      reply.log.warn({ err: error, campaignId: error.campaignId, action: error.action }, 'campaign control not confirmed in time');
      return reply.code(503).send({ error: 'service unavailable', message: error.message });
    }
    throw error;
  }
}
