import path from 'node:path';
import ts from 'typescript';

/** Root of the repository, which contains tsconfig.json. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Compiles `entryFile` and the project files it imports with the settings of tsconfig.json into `outDir`,
 * keeping the folder layout below the project root, as `tsc` would. Returns the path of the emitted entry
 * file. Tests use it to run code in plain Node when Jest's module loader would change what the code does.
 */
export function compileWithTsc(entryFile: string, outDir: string): string {
  const configPath = path.join(PROJECT_ROOT, 'tsconfig.json');
  const configFile = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file));
  if (configFile.error !== undefined) throw new Error(`reading ${configPath} failed: ${formatDiagnostics([configFile.error])}`);
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, PROJECT_ROOT);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    outDir,
    rootDir: PROJECT_ROOT,
    noEmit: false,
    sourceMap: false,
    declaration: false,
    // Test-only type packages such as jest's are not needed to compile source files.
    types: ['node'],
  };

  const program = ts.createProgram([entryFile], options);
  const result = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (diagnostics.length > 0 || result.emitSkipped) {
    throw new Error(`compiling ${entryFile} with tsc failed:\n${formatDiagnostics(diagnostics)}`);
  }

  const relativeEntry = path.relative(PROJECT_ROOT, entryFile).replace(/\.ts$/, '.js');
  return path.join(outDir, relativeEntry);
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[]): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (fileName) => fileName,
    getCurrentDirectory: () => PROJECT_ROOT,
    getNewLine: () => '\n',
  });
}
