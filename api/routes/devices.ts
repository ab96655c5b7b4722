import type { FastifyInstance } from 'fastify';
import { deviceRefSchema } from '../../protocol';
import type { DeviceRegistry } from '../../storage/device-registry';
import { parseOrReply } from '../validation';

/** `GET /devices/{productName}/{deviceName}`: the device as registered from its reports. */
export function registerDeviceRoutes(app: FastifyInstance, deps: { registry: DeviceRegistry }): void {
  app.get('/devices/:productName/:deviceName', async (request, reply) => {
    const ref = parseOrReply(reply, deviceRefSchema, request.params);
    if (!ref) return reply;
    const device = await deps.registry.findDevice(ref);
    if (!device) {
      return reply.code(404).send({ error: 'not found', message: `device ${ref.productName}/${ref.deviceName} is not registered` });
    }
    return reply.send({
      product_name: device.product_name,
      device_name: device.device_name,
      device_status: device.device_status,
      status_updated_at: device.status_updated_at ?? null,
      ota_progress: device.ota_progress ?? null,
      created_at: device.created_at,
      last_report_at: device.last_report_at,
    });
  });
}
