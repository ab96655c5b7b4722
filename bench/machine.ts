import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The machine a run was taken on, as /proc and Node report it. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number | undefined;
  kernel: string;
  node: string;
}

export function readMachineInfo(): MachineInfo {
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: readMemTotalGiB(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

/** Reads the 1, 5 and 15 minute load averages from /proc/loadavg, which show whether other work ran. */
export function readLoadAverage(): [number, number, number] | undefined {
  try {
    const [one, five, fifteen] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
    if (one === undefined || five === undefined || fifteen === undefined) return undefined;
    return [one, five, fifteen];
  } catch {
    return undefined;
  }
}

function readMemTotalGiB(): number | undefined {
  try {
    const kib = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    return Number.isFinite(kib) ? Math.round((kib / 1024 / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}
