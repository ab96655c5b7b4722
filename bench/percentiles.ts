/** Distribution of a set of latencies, in milliseconds; undefined figures when there are no values. */
export interface LatencySummary {
  count: number;
  p50: number | undefined;
  p95: number | undefined;
  p99: number | undefined;
  max: number | undefined;
  mean: number | undefined;
}

/** Summarizes `values` with nearest-rank percentiles, so every figure is one of the measured values. */
export function summarizeLatencies(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { count: 0, p50: undefined, p95: undefined, p99: undefined, max: undefined, mean: undefined };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (percent: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((percent / 100) * sorted.length) - 1))];
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50: round(rank(50)),
    p95: round(rank(95)),
    p99: round(rank(99)),
    max: round(sorted[sorted.length - 1]),
    mean: round(sum / sorted.length),
  };
}

/** Mean, minimum and maximum of a list of counts. */
export interface CountSummary {
  samples: number;
  mean: number | undefined;
  min: number | undefined;
  max: number | undefined;
}

export function summarizeCounts(values: readonly number[]): CountSummary {
  if (values.length === 0) return { samples: 0, mean: undefined, min: undefined, max: undefined };
  const sum = values.reduce((total, value) => total + value, 0);
  return { samples: values.length, mean: round(sum / values.length), min: Math.min(...values), max: Math.max(...values) };
}

/** Rounds to one decimal place, which is finer than any figure here is accurate to. */
export function round(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 10) / 10;
}
