import { z } from 'zod';

/**
 * Pace of a simulated upgrade. The defaults match the IotHub demo device: progress 0, 20, ..., 100
 * every 2 s, then 3 s of installing before the new firmware_ver is reported.
 */
export const timingsSchema = z.strictObject({
  /** Time between two progress reports, in milliseconds. */
  stepIntervalMs: z.number().int().min(0).max(3_600_000).default(2000),
  /** Number of steps from 0 to 100 percent; 5 gives 0, 20, 40, 60, 80, 100. */
  steps: z.number().int().min(1).max(100).default(5),
  /** Time from progress 100 to the report of the installed firmware_ver, in milliseconds. */
  installDelayMs: z.number().int().min(0).max(3_600_000).default(3000),
});
export type Timings = z.infer<typeof timingsSchema>;

/** Fills the unset fields of `partial` with the defaults, throwing when a given field is invalid. */
export function resolveTimings(partial: Partial<Timings> = {}): Timings {
  const parsed = timingsSchema.safeParse(partial);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid simulator timings: ${problems.join('; ')}`);
  }
  return parsed.data;
}
