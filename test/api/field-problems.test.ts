import { z } from 'zod';
import { fieldProblems } from '../../api/validation';

const schema = z.strictObject({
  version: z.string(),
  size: z.number(),
  options: z.strictObject({ maxAttempts: z.number().optional() }).optional(),
});

function problemsOf(input: unknown) {
  const parsed = schema.safeParse(input);
  if (parsed.success) throw new Error('expected the input to be invalid');
  return fieldProblems(parsed.error.issues, '', input);
}

describe('fieldProblems', () => {
  it('names missing fields', () => {
    expect(problemsOf({ size: 1 })).toEqual([{ field: 'version', message: 'missing required field (expected string)' }]);
  });

  it('keeps the type message for wrong values', () => {
    const [problem] = problemsOf({ version: 1, size: 1 });
    expect(problem!.field).toBe('version');
    expect(problem!.message).toContain('expected string');
  });

  it('treats a null field as wrong, not missing', () => {
    const [problem] = problemsOf({ version: null, size: 1 });
    expect(problem!.message).not.toContain('missing');
  });

  it('names unknown fields one by one', () => {
    expect(problemsOf({ version: '1.1', size: 1, options: { color: 'red', maxAttempts: 2 } })).toEqual([
      { field: 'options.color', message: "unknown field 'color'" },
    ]);
  });

  it('reads nothing as missing without the input', () => {
    const parsed = schema.safeParse({ size: 1 });
    expect(fieldProblems(parsed.error!.issues)[0]!.message).toContain('expected string');
  });
});
