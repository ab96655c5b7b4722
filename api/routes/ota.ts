import type { FastifyInstance } from 'fastify';
import type { UpgradeDefaults } from '../../config/settings';
import { deviceRefSchema, otaUpgradePayloadSchema } from '../../protocol';
import type { DeviceRegistry } from '../../storage/device-registry';
import { buildUpgradeInput, policyProblems, upgradeOptionsSchema } from '../upgrade-options';
import { UpgradeAlreadyRunningError, type UpgradeService } from '../upgrade-service';
import { parseOrReply, readObjectBody, replyInvalid } from '../validation';

// The five fields of the IotHub request, as JSON or form fields; JSON bodies may add `options`.
const startUpgradeBodySchema = otaUpgradePayloadSchema.extend({ options: upgradeOptionsSchema.optional() });

/** `POST /ota/{productName}/{deviceName}` starts an upgrade; `GET` returns its progress and state. */
export function registerOtaRoutes(
  app: FastifyInstance,
  deps: { upgrades: UpgradeService; registry: DeviceRegistry; defaults: UpgradeDefaults },
): void {
  app.post('/ota/:productName/:deviceName', async (request, reply) => {
    const ref = parseOrReply(reply, deviceRefSchema, request.params);
    if (!ref) return reply;
    const raw = readObjectBody(request, reply);
    if (!raw) return reply;
    const body = parseOrReply(reply, startUpgradeBodySchema, raw);
    if (!body) return reply;

    const { options, ...firmware } = body;
    const input = buildUpgradeInput(ref, firmware, options ?? {}, deps.defaults);
    const problems = policyProblems(input, 'options');
    if (problems.length > 0) return replyInvalid(reply, problems);
    try {
      const started = await deps.upgrades.start(input);
      request.log.info({ ...ref, workflowId: started.workflowId, version: firmware.version }, 'upgrade started');
      return reply.code(200).send(started);
    } catch (error) {
      if (error instanceof UpgradeAlreadyRunningError) {
        request.log.info({ ...ref, workflowId: error.workflowId }, 'upgrade rejected: one is already running');
        return reply.code(409).send({ error: 'conflict', message: error.message, workflowId: error.workflowId });
      }
      throw error;
    }
  });

  app.get('/ota/:productName/:deviceName', async (request, reply) => {
    const ref = parseOrReply(reply, deviceRefSchema, request.params);
    if (!ref) return reply;
    const [device, upgrade] = await Promise.all([deps.registry.findDevice(ref), deps.upgrades.latest(ref)]);
    if (!device && !upgrade) {
      return reply.code(404).send({ error: 'not found', message: `device ${ref.productName}/${ref.deviceName} has no reports and no upgrades` });
    }
    // The top-level fields are the device's latest report, as the IotHub server returns them.
    const progress = device?.ota_progress;
    return reply.send({
      version: progress?.version ?? null,
      type: progress?.type ?? null,
      progress: progress?.progress ?? null,
      desc: progress?.desc ?? null,
      upgrade,
    });
  });
}

