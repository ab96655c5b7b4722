import { cloneBody, isPlainObject, REMOVED } from './json-text';

/** One change of a valid body that makes it invalid. */
export interface Mutation {
  /** Field the API must name in its 400, as a dotted path such as `options.maxAttempts`. */
  field: string;
  /** Values to set by path; REMOVED deletes the field. */
  changes: readonly { path: readonly string[]; value: unknown }[];
  /**
   * `schema` problems are found by the request schema. `policy` problems (maxBackoffMs below the
   * initial backoff) are checked only once the schema passed, so the API names them only when no
   * schema problem remains.
   */
  stage: 'schema' | 'policy';
}

export function schemaMutation(field: string, path: readonly string[], value: unknown): Mutation {
  return { field, changes: [{ path, value }], stage: 'schema' };
}

/**
 * Applies mutations in order to a copy of `body`. A mutation that would write below a value an earlier
 * one replaced with a non-object is skipped, and a later mutation that overwrites an earlier one's field
 * (the same path or a parent of it) replaces it. Returns the body and the mutations still in effect.
 */
export function applyMutations(body: Record<string, unknown>, mutations: readonly Mutation[]): { body: Record<string, unknown>; applied: Mutation[] } {
  const result = cloneBody(body);
  let applied: Mutation[] = [];
  for (const mutation of mutations) {
    if (!mutation.changes.every((change) => canWrite(result, change.path))) continue;
    for (const change of mutation.changes) write(result, change.path, change.value);
    applied = applied.filter((earlier) => !earlier.changes.some((old) => mutation.changes.some((change) => isPrefix(change.path, old.path))));
    applied.push(mutation);
  }
  return { body: result, applied };
}

/** Fields a 400 must name: every schema mutation in effect, or else every policy mutation. */
export function expectedFields(applied: readonly Mutation[]): string[] {
  const schema = applied.filter((mutation) => mutation.stage === 'schema');
  return [...new Set((schema.length > 0 ? schema : applied).map((mutation) => mutation.field))];
}

function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((key, index) => path[index] === key);
}

function canWrite(root: Record<string, unknown>, path: readonly string[]): boolean {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(node)) return false;
    node = node[key];
    if (node === undefined) return true;
  }
  return isPlainObject(node);
}

function write(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    if (node[key] === undefined) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === REMOVED) delete node[last];
  else node[last] = value;
}
