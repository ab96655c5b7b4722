import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { InputFileError } from './errors';

export type DocumentFormat = 'json' | 'yaml';

/** A 1-based line and column in a file. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A parsed JSON or YAML file that can tell where each value came from. */
export interface SourceDocument {
  /** The path as the user gave it, for messages. */
  path: string;
  format: DocumentFormat;
  value: unknown;
  /**
   * Returns the position of the value at `fieldPath`, or of the key `key` inside it. When the path
   * leads to a field that is missing, returns the position of its nearest parent that exists.
   */
  locate(fieldPath: readonly PropertyKey[], key?: string): SourcePosition | undefined;
  /** Returns the text of the value at `fieldPath` as written in the file, such as `1.10` for a YAML number. */
  sourceText(fieldPath: readonly PropertyKey[]): string | undefined;
}

/** Largest input file read, in bytes: far above any request the API accepts, so only a wrong file hits it. */
export const MAX_INPUT_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads and parses a JSON or YAML file. The format follows the extension (.json, .yaml, .yml) and is
 * recognised from the first character otherwise. Throws InputFileError naming the file and, for a
 * syntax error, the line and column.
 */
export async function readSourceDocument(displayPath: string, cwd: string): Promise<SourceDocument> {
  const absolutePath = path.resolve(cwd, displayPath);
  let text: string;
  try {
    const info = await stat(absolutePath);
    if (info.isDirectory()) throw new InputFileError(`could not read ${displayPath}: it is a directory, not a file`);
    if (info.size > MAX_INPUT_FILE_BYTES) {
      throw new InputFileError(`could not read ${displayPath}: it has ${info.size} bytes, more than the ${MAX_INPUT_FILE_BYTES} this command reads`);
    }
    text = await readFile(absolutePath, 'utf8');
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError(`could not read ${displayPath}: ${describeFileError(error as NodeJS.ErrnoException)}`);
  }
  return parseSourceDocument(text, displayPath);
}

/** Parses the text of a JSON or YAML file; `format` overrides the choice by extension and content. */
export function parseSourceDocument(text: string, displayPath: string, format = detectFormat(displayPath, text)): SourceDocument {
  // Editors on Windows may start a UTF-8 file with a byte order mark, which JSON.parse rejects.
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (source.trim() === '') throw new InputFileError(`invalid ${displayPath}: the file is empty`);
  return format === 'json' ? parseJsonDocument(source, displayPath) : parseYamlDocument(source, displayPath);
}

/** Chooses JSON or YAML by extension, else by content: JSON documents start with '{' or '['. */
export function detectFormat(filePath: string, text: string): DocumentFormat {
  const extension = path.extname(filePath).toLowerCase();
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  const first = text.replace(/^\uFEFF/, '').trimStart()[0];
  return first === '{' || first === '[' ? 'json' : 'yaml';
}

/** Formats `path:line:column` for messages, the form editors and terminals link to the place. */
export function formatLocation(displayPath: string, position: SourcePosition | undefined): string {
  return position ? `${displayPath}:${position.line}:${position.column}` : displayPath;
}

function parseJsonDocument(text: string, displayPath: string): SourceDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const { message, offset } = describeJsonError((error as Error).message, text.length);
    throw new InputFileError(`invalid JSON in ${formatLocation(displayPath, positionAt(text, offset))}: ${message}`);
  }
  // JSON is YAML 1.2, so the YAML parser finds the positions of fields that JSON.parse does not report.
  const located = composeYaml(text);
  return documentWithLocations(displayPath, 'json', value, located?.errors.length === 0 ? located : undefined, text);
}

function parseYamlDocument(text: string, displayPath: string): SourceDocument {
  const composed = composeYaml(text);
  if (composed === undefined) throw new InputFileError(`invalid ${displayPath}: the file contains no YAML document`);
  const { documents, lineCounter } = composed;
  const error = composed.errors[0];
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new InputFileError(`invalid YAML in ${formatLocation(displayPath, { line, column: col })}: ${error.message}`);
  }
  if (documents.length > 1) {
    const { line, col } = lineCounter.linePos(documents[1]!.range[0]);
    throw new InputFileError(`invalid ${formatLocation(displayPath, { line, column: col })}: a second YAML document starts here; put one campaign in each file`);
  }

  let value: unknown;
  try {
    // toJS stops at 100 alias expansions by default, so a crafted file cannot expand exponentially.
    value = documents[0]!.toJS();
  } catch (caught) {
    throw new InputFileError(`invalid YAML in ${displayPath}: ${(caught as Error).message}`);
  }
  return documentWithLocations(displayPath, 'yaml', value, composed, text);
}

interface ComposedYaml {
  documents: Document.Parsed[];
  lineCounter: LineCounter;
  errors: { message: string; pos: [number, number] }[];
}

function composeYaml(text: string): ComposedYaml | undefined {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  // parseAllDocuments returns an EmptyStream, not an array, for a file of only comments.
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
  const documents = parsed as Document.Parsed[];
  return { documents, lineCounter, errors: documents.flatMap((document) => document.errors) };
}

function documentWithLocations(
  displayPath: string,
  format: DocumentFormat,
  value: unknown,
  composed: ComposedYaml | undefined,
  text: string,
): SourceDocument {
  const document = composed?.documents[0];
  const toPosition = (offset: number): SourcePosition => {
    const { line, col } = composed!.lineCounter.linePos(offset);
    return { line, column: col };
  };
  return {
    path: displayPath,
    format,
    value,
    locate(fieldPath, key) {
      if (!document) return undefined;
      const offset = key === undefined ? findOffset(document, fieldPath) : findOffset(document, [...fieldPath, key], true);
      return offset === undefined ? undefined : toPosition(offset);
    },
    sourceText(fieldPath) {
      if (!document) return undefined;
      const node = findNode(document, fieldPath);
      return node?.range ? text.slice(node.range[0], node.range[1]) : undefined;
    },
  };
}

type YamlNode = { range?: [number, number, number] | null };

/** Walks the document along `steps`; returns the node at the end, or undefined when a step is missing. */
function findNode(document: Document.Parsed, steps: readonly PropertyKey[]): YamlNode | undefined {
  let node: unknown = document.contents;
  for (const step of steps) {
    const next = childOf(document, node, step);
    if (next === undefined) return undefined;
    node = next.value;
  }
  return (node ?? undefined) as YamlNode | undefined;
}

/**
 * Returns the offset of the deepest node along `steps`: a scalar's own start, so the column points at
 * the bad value, and a collection's key otherwise, where the field is named. With `atKey`, the last
 * step's key is returned even for a scalar, for fields that should not be there at all.
 */
function findOffset(document: Document.Parsed, steps: readonly PropertyKey[], atKey = false): number | undefined {
  let node: unknown = document.contents;
  let offset = (node as YamlNode | null)?.range?.[0];
  for (const [index, step] of steps.entries()) {
    const next = childOf(document, node, step);
    if (next === undefined) break;
    node = next.value;
    const valueStart = (node as YamlNode | null)?.range?.[0];
    const preferKey = !isScalar(node) || (atKey && index === steps.length - 1);
    offset = preferKey ? (next.keyOffset ?? valueStart ?? offset) : (valueStart ?? offset);
  }
  return offset;
}

function childOf(document: Document.Parsed, parent: unknown, step: PropertyKey): { value: unknown; keyOffset?: number } | undefined {
  const node = isAlias(parent) ? parent.resolve(document) : parent;
  if (isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(step));
    if (!pair) return undefined;
    return { value: pair.value, keyOffset: (pair.key as YamlNode).range?.[0] };
  }
  if (isSeq(node) && typeof step === 'number') {
    const item = node.items[step];
    return item === undefined ? undefined : { value: item };
  }
  return undefined;
}

/** Splits a JSON.parse message into its text and the offset it names (the end of the text when none). */
function describeJsonError(message: string, textLength: number): { message: string; offset: number } {
  const position = /at position (\d+)/.exec(message);
  // V8 messages read "... in JSON at position 12", and newer ones add " (line 2 column 3)".
  const cleaned = message.replace(/ \(line \d+ column \d+\)$/, '').replace(/,? ?(in JSON )?at position \d+$/, '').replace(/ in JSON$/, '');
  return { message: cleaned, offset: position ? Number(position[1]) : textLength };
}

function positionAt(text: string, offset: number): SourcePosition {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function describeFileError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'file not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory, not a file';
    default:
      return error.message;
  }
}
