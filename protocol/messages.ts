import { z } from 'zod';
import { ProgressCode } from './progress-code';

export { ProgressCode };

/** Largest MQTT payload the engine accepts from a device, in bytes. Reports are small JSON objects. */
export const MAX_REPORT_PAYLOAD_BYTES = 4096;

/** Largest firmware package accepted in an upgrade request: 4 GiB. */
export const MAX_FIRMWARE_SIZE_BYTES = 4 * 1024 ** 3;


export const firmwareVersionSchema = z
  .string()
  .min(1, { error: 'version must not be empty' })
  .max(64, { error: 'version must be at most 64 characters' })
  .regex(/^[A-Za-z0-9._+-]+$/, { error: "version may contain only letters, digits, '.', '_', '+' and '-'" });

export const firmwareTypeSchema = z
  .string()
  .min(1, { error: 'type must not be empty' })
  .max(32, { error: 'type must be at most 32 characters' })
  .regex(/^[A-Za-z0-9_-]+$/, { error: "type may contain only letters, digits, '_' and '-'" });

/** Payload of the `$ota_upgrade` command: which package to download and how to check it. */
export const otaUpgradePayloadSchema = z.strictObject({
  type: firmwareTypeSchema,
  url: z
    .url({ protocol: /^https?$/, error: 'url must be an absolute http or https URL' })
    .max(2048, { error: 'url must be at most 2048 characters' })
    // WHATWG URL parsing accepts raw spaces and control characters, which a device's HTTP client may not.
    .regex(/^[\x21-\x7e]+$/, { error: 'url must not contain spaces, control or non-ASCII characters (percent-encode them)' }),
  version: firmwareVersionSchema,
  size: z
    .number({ error: 'size must be a whole number of bytes' })
    .int({ error: 'size must be a whole number of bytes' })
    .positive({ error: 'size must be greater than 0' })
    .max(MAX_FIRMWARE_SIZE_BYTES, { error: `size must be at most ${MAX_FIRMWARE_SIZE_BYTES} bytes` }),
  md5: z.string().regex(/^[0-9a-fA-F]{32}$/, { error: 'md5 must be 32 hexadecimal digits' }).toLowerCase(),
});
export type OtaUpgradePayload = z.infer<typeof otaUpgradePayloadSchema>;

/** Body of an `update_ota_status` report. Fields the engine does not use are dropped. */
export const progressReportSchema = z.object({
  version: z.string().min(1).max(64),
  type: z.string().min(1).max(32),
  progress: z
    .number()
    .int()
    .min(ProgressCode.OTHER_ERROR)
    .max(ProgressCode.DOWNLOAD_COMPLETE),
  desc: z.string().max(256).optional(),
});
export type ProgressReport = z.infer<typeof progressReportSchema>;

// Field names become MongoDB field paths, so '.' and a leading '$' are kept out.
const STATUS_FIELD_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const MAX_STATUS_FIELDS = 32;

/**
 * Body of an `update_status` report: a flat object of reported fields, `firmware_ver` among them.
 * Values are JSON scalars, so each field can be stored under the device's `device_status` as it came.
 */
export const statusReportSchema = z
  .record(
    z.string().regex(STATUS_FIELD_PATTERN, { error: 'status field names must match [A-Za-z_][A-Za-z0-9_-]{0,63}' }),
    z.union([z.string().max(256), z.number(), z.boolean(), z.null()]),
  )
  .refine((fields) => Object.keys(fields).length <= MAX_STATUS_FIELDS, {
    error: `a status report may carry at most ${MAX_STATUS_FIELDS} fields`,
  })
  .refine((fields) => fields.firmware_ver === undefined || typeof fields.firmware_ver === 'string', {
    error: 'firmware_ver must be a string',
  });
export type StatusReport = z.infer<typeof statusReportSchema>;
