import { deviceRefSchema, type DeviceRef } from '../../protocol';

/**
 * Reads the device of a sample from its first two arguments, or else from TARGET_PRODUCT_NAME and
 * TARGET_DEVICE_NAME, where an empty variable counts as unset. Returns an error message when the
 * device is missing or a name is invalid.
 */
export function readDeviceArguments(positionals: string[], env: Record<string, string | undefined>): DeviceRef | string {
  const productName = positionals[0] ?? (env.TARGET_PRODUCT_NAME || undefined);
  const deviceName = positionals[1] ?? (env.TARGET_DEVICE_NAME || undefined);
  if (productName === undefined || deviceName === undefined) {
    return 'missing device: pass PRODUCT_NAME DEVICE_NAME as arguments, or set TARGET_PRODUCT_NAME and TARGET_DEVICE_NAME';
  }
  const parsed = deviceRefSchema.safeParse({ productName, deviceName });
  if (!parsed.success) return `invalid device ${productName}/${deviceName}: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`;
  return parsed.data;
}
