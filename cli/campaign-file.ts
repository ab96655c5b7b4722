import type { z } from 'zod';
import { createCampaignRequestSchema } from '../api/campaign-request';
import { isMissingField } from '../api/validation';
import { InputFileError } from './errors';
import { formatLocation, readSourceDocument, type SourceDocument, type SourcePosition } from './source-document';

/** One invalid field of a campaign file, with where it is. */
export interface CampaignFileProblem {
  field: string;
  message: string;
  position: SourcePosition | undefined;
}

/** A campaign file that passed the API's schema. */
export interface CampaignFile {
  document: SourceDocument;
  /** The body to send: the file's content as written, so the API applies its own defaults. */
  body: Record<string, unknown>;
  /** Campaign id from the file, or undefined when the API is to generate one. */
  id: string | undefined;
}

/**
 * Reads a campaign file and validates it with the API's schema of `POST /campaigns`. Throws InputFileError
 * listing every invalid field with its line and column, so nothing is sent for a file the API would reject.
 */
export async function loadCampaignFile(displayPath: string, cwd: string): Promise<CampaignFile> {
  return validateCampaignDocument(await readSourceDocument(displayPath, cwd));
}

export function validateCampaignDocument(document: SourceDocument): CampaignFile {
  const parsed = createCampaignRequestSchema.safeParse(document.value);
  if (!parsed.success) {
    const problems = campaignFileProblems(document, parsed.error.issues);
    const lines = problems.map((problem) => `  ${formatLocation(document.path, problem.position)}: ${problem.field}: ${problem.message}`);
    throw new InputFileError(`invalid campaign file ${document.path}:\n${lines.join('\n')}`);
  }

  return { document, body: document.value as Record<string, unknown>, id: parsed.data.id };
}

/** Turns zod issues into problems named like the API's field list, each with its place in the file, in file order. */
export function campaignFileProblems(document: SourceDocument, issues: readonly z.core.$ZodIssue[]): CampaignFileProblem[] {
  const problems = issues.flatMap((issue): CampaignFileProblem[] => {
    const field = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: field ? `${field}.${key}` : key,
        message: `unknown field '${key}'`,
        position: document.locate(issue.path, key),
      }));
    }
    return [{ field: field || '(top level)', message: describeIssue(document, issue), position: document.locate(issue.path) }];
  });
  return problems.sort((a, b) => (a.position?.line ?? 0) - (b.position?.line ?? 0) || (a.position?.column ?? 0) - (b.position?.column ?? 0));
}

function describeIssue(document: SourceDocument, issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && isMissingField(document.value, issue.path)) return 'missing required field';
  // YAML reads an unquoted 1.10 as the number 1.1, which is never what a version means.
  const value = valueAt(document.value, issue.path);
  if (document.format === 'yaml' && issue.code === 'invalid_type' && issue.expected === 'string' && typeof value === 'number') {
    const written = document.sourceText(issue.path) ?? String(value);
    return `${issue.message}; YAML reads ${written} as a number, so quote it: "${written}"`;
  }
  return issue.message;
}

function valueAt(root: unknown, fieldPath: readonly PropertyKey[]): unknown {
  let value = root;
  for (const step of fieldPath) {
    if (!isObject(value) && !Array.isArray(value)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[step];
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
