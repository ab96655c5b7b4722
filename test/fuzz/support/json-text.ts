/** A JSON number written exactly as given, such as `-0`, `1e400` or `1.0E3`, which JSON.stringify cannot produce. */
export class RawNumber {
  constructor(readonly text: string) {}

  toString(): string {
    return `RawNumber(${this.text})`;
  }
}

/** Marks a field that a mutation removes from the body. */
export const REMOVED = Symbol('removed');

/** Serializes a generated body to JSON text, writing RawNumber values verbatim. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>).map(([key, member]) => `${JSON.stringify(key)}:${toJsonText(member)}`);
    return `{${members.join(',')}}`;
  }
  // JSON.stringify returns undefined for undefined and functions; neither is generated, but null keeps the text valid.
  return JSON.stringify(value) ?? 'null';
}

/** Renders a generated value as one form field value: numbers as their text, anything else as JSON text. */
export function toFormValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof RawNumber) return value.text;
  return toJsonText(value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof RawNumber);
}

/** Deep copy of a generated body; RawNumber values are immutable and shared. */
export function cloneBody<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneBody) as T;
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, cloneBody(member)])) as T;
  return value;
}
