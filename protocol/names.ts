import { z } from 'zod';

/** Maximum length of a product or device name, in characters. */
export const MAX_NAME_LENGTH = 64;

// Names become MQTT topic levels and parts of Temporal workflow ids. A safe alphabet keeps out the
// topic separator and wildcards (`/`, `+`, `#`), the `$` that marks broker-reserved topics, the `:`
// that separates parts of a workflow id, whitespace and control characters.
const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
// '.' and '..' are path segments that HTTP clients remove from URLs, so a name needs one other character.
const ONLY_DOTS = /^\.+$/;

function nameSchema(label: string) {
  return z
    .string({ error: `${label} must be a string` })
    .min(1, { error: `${label} must not be empty` })
    .max(MAX_NAME_LENGTH, { error: `${label} must be at most ${MAX_NAME_LENGTH} characters` })
    .regex(NAME_PATTERN, {
      error: `${label} may contain only letters, digits, '_', '.' and '-' (no '/', '+', '#', '$', ':', spaces or control characters)`,
    })
    .refine((name) => !ONLY_DOTS.test(name), { error: `${label} must contain a character other than '.'` });
}

export const productNameSchema = nameSchema('productName');
export const deviceNameSchema = nameSchema('deviceName');

export const deviceRefSchema = z.object({
  productName: productNameSchema,
  deviceName: deviceNameSchema,
});
export type DeviceRef = z.infer<typeof deviceRefSchema>;

/** Error raised when a product or device name would break a topic or a workflow id. */
export class InvalidNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidNameError';
  }
}

/** Validates both names of a device, throwing InvalidNameError that names the offending field. */
export function assertDeviceRef(productName: unknown, deviceName: unknown): DeviceRef {
  const parsed = deviceRefSchema.safeParse({ productName, deviceName });
  if (!parsed.success) {
    throw new InvalidNameError(parsed.error.issues.map((issue) => issue.message).join('; '));
  }
  return parsed.data;
}

/** Key of a device in storage: product and device name, which cannot contain ':'. */
export function deviceKey(ref: DeviceRef): string {
  return `${ref.productName}:${ref.deviceName}`;
}

/**
 * Workflow id of a device's upgrade. It depends only on the device, so the bridge can signal the running
 * upgrade without a lookup and Temporal itself rejects a second upgrade of the same device while one runs.
 */
export function upgradeWorkflowId(ref: DeviceRef): string {
  return `upgrade:${ref.productName}:${ref.deviceName}`;
}

/** Parses an upgrade workflow id back into its device, or returns undefined for any other id. */
export function parseUpgradeWorkflowId(workflowId: string): DeviceRef | undefined {
  const parts = workflowId.split(':');
  if (parts.length !== 3 || parts[0] !== 'upgrade') return undefined;
  const parsed = deviceRefSchema.safeParse({ productName: parts[1], deviceName: parts[2] });
  return parsed.success ? parsed.data : undefined;
}
