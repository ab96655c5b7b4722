import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const BYTES_PER_MIB = 1024 * 1024;

// utime and friends in /proc/<pid>/stat are in clock ticks, which getconf reports; 100 is Linux's usual value.
const CLOCK_TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/**
 * CPU seconds the process has used: utime and stime, which count every thread of the process, plus
 * cutime and cstime of the children it has waited for. Undefined when the process is gone.
 */
export function readCpuSeconds(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name in brackets may contain spaces, so the fields are counted after its closing bracket.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the bracket come field 3 (state) onwards, so utime (field 14) is at index 11 and cstime (17) at 14.
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index] ?? 0), 0);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Resident memory now (VmRSS) and its peak (VmHWM), in bytes; undefined when the process is gone. */
export function readMemory(pid: number): { rssBytes: number; peakRssBytes: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const rss = kib('VmRSS');
  const peak = kib('VmHWM');
  if (!Number.isFinite(rss) || !Number.isFinite(peak)) return undefined;
  return { rssBytes: rss * 1024, peakRssBytes: peak * 1024 };
}

/**
 * Resets the process's VmHWM to its current RSS by writing 5 to /proc/<pid>/clear_refs (Linux 4.0 and
 * later), so a later VmHWM is the peak of the measured window only. Returns false when the kernel or
 * the permissions do not allow it.
 */
export function resetPeakMemory(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the pid of the one process whose command line contains `fragment`, such as a server's unique
 * data folder. Throws when none or several match, because the figures would belong to the wrong process.
 */
export function findPidByCommandLine(fragment: string): number {
  const matches: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (commandLine.includes(fragment)) matches.push(Number(entry));
  }
  const [pid] = matches;
  if (pid === undefined || matches.length > 1) {
    throw new Error(`expected one process whose command line contains ${fragment}, found ${matches.length} (${matches.join(', ')})`);
  }
  return pid;
}

/** Resource use of one process in the measured window. Memory is in MiB, CPU in seconds. */
export interface ProcessUsage {
  pid: number;
  cpuSeconds: number | undefined;
  /** VmHWM at the end: the peak of the window when `peakIsWindowOnly`, else the peak since the process started. */
  peakRssMiB: number | undefined;
  peakIsWindowOnly: boolean;
  rssAtStartMiB: number | undefined;
  /** Largest RSS of the periodic samples taken during the window. */
  maxSampledRssMiB: number | undefined;
}

interface MeteredProcess {
  name: string;
  pid: number;
  cpuAtStart: number | undefined;
  rssAtStart: number | undefined;
  maxSampledRss: number | undefined;
  peakReset: boolean;
}

/**
 * Measures the CPU time and memory of a set of processes over one window: `start()` takes the CPU
 * baseline and resets each peak, `sample()` records RSS while the window runs, `finish()` returns the
 * usage of each process by name.
 */
export class ProcessMeter {
  private readonly processes: MeteredProcess[] = [];

  add(name: string, pid: number): void {
    this.processes.push({ name, pid, cpuAtStart: undefined, rssAtStart: undefined, maxSampledRss: undefined, peakReset: false });
  }

  start(): void {
    for (const process of this.processes) {
      process.cpuAtStart = readCpuSeconds(process.pid);
      process.rssAtStart = readMemory(process.pid)?.rssBytes;
      process.maxSampledRss = process.rssAtStart;
      process.peakReset = resetPeakMemory(process.pid);
    }
  }

  sample(): void {
    for (const process of this.processes) {
      const rss = readMemory(process.pid)?.rssBytes;
      if (rss !== undefined) process.maxSampledRss = Math.max(process.maxSampledRss ?? 0, rss);
    }
  }

  /** RSS of the named process now, in bytes. */
  currentRssBytes(name: string): number | undefined {
    const process = this.processes.find((candidate) => candidate.name === name);
    return process === undefined ? undefined : readMemory(process.pid)?.rssBytes;
  }

  finish(): Record<string, ProcessUsage> {
    this.sample();
    const usage: Record<string, ProcessUsage> = {};
    for (const process of this.processes) {
      const cpuNow = readCpuSeconds(process.pid);
      const memory = readMemory(process.pid);
      usage[process.name] = {
        pid: process.pid,
        cpuSeconds: cpuNow === undefined || process.cpuAtStart === undefined ? undefined : roundTo(cpuNow - process.cpuAtStart, 2),
        peakRssMiB: toMiB(memory?.peakRssBytes),
        peakIsWindowOnly: process.peakReset,
        rssAtStartMiB: toMiB(process.rssAtStart),
        maxSampledRssMiB: toMiB(process.maxSampledRss),
      };
    }
    return usage;
  }
}

export function toMiB(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : roundTo(bytes / BYTES_PER_MIB, 1);
}

function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
