import { loadCampaignFile, validateCampaignDocument } from '../../cli/campaign-file';
import { InputFileError } from '../../cli/errors';
import { detectFormat, parseSourceDocument } from '../../cli/source-document';
import { tempFolder } from './run-cli';

const VALID_YAML = `# Upgrade every lamp to 1.1.
id: lamps-1.1
productName: demo
target:
  kind: all
firmware:
  type: firmware
  url: https://firmware.example/1.1.pkg
  version: "1.1"
  size: 1000
  md5: c4ca4238a0b923820dcc509a6f75849b
rollout:
  maxConcurrent: 50
  firstWave: {percent: 5, minSuccessPercent: 95}
`;

const VALID_BODY = {
  id: 'lamps-1.1',
  productName: 'demo',
  target: { kind: 'all' },
  firmware: { type: 'firmware', url: 'https://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' },
  rollout: { maxConcurrent: 50, firstWave: { percent: 5, minSuccessPercent: 95 } },
};

/** Returns the message of the InputFileError that `action` raises. */
async function inputError(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof InputFileError) return error.message;
    throw error;
  }
  throw new Error('expected an InputFileError');
}

function validate(text: string, file: string) {
  return validateCampaignDocument(parseSourceDocument(text, file));
}

let folder: Awaited<ReturnType<typeof tempFolder>>;

beforeAll(async () => {
  folder = await tempFolder();
});

afterAll(async () => {
  await folder.remove();
});

describe('campaign file loading', () => {
  it('reads a YAML file as the request body', async () => {
    await folder.write('lamps.yaml', VALID_YAML);
    const file = await loadCampaignFile('lamps.yaml', folder.dir);
    expect(file.body).toEqual(VALID_BODY);
    expect(file.id).toBe('lamps-1.1');
    expect(file.document.format).toBe('yaml');
  });

  it('reads a JSON file and keeps the fields as written', async () => {
    const body = { ...VALID_BODY, firmware: { ...VALID_BODY.firmware, md5: 'C4CA4238A0B923820DCC509A6F75849B' } };
    await folder.write('lamps.json', `\uFEFF${JSON.stringify(body, null, 2)}`);
    const file = await loadCampaignFile('lamps.json', folder.dir);
    // The API lower-cases md5 itself; the CLI sends the file unchanged so the API applies its own defaults.
    expect(file.body).toEqual(body);
    expect(file.document.format).toBe('json');
  });

  it('chooses the format by extension, then by content', () => {
    expect(detectFormat('a.json', 'id: x')).toBe('json');
    expect(detectFormat('a.YML', '{}')).toBe('yaml');
    expect(detectFormat('a.yaml', '{}')).toBe('yaml');
    expect(detectFormat('campaign', '  {"id": "x"}')).toBe('json');
    expect(detectFormat('campaign.txt', '[1]')).toBe('json');
    expect(detectFormat('campaign', 'id: x')).toBe('yaml');
  });

  it('reads a file without extension by its content', async () => {
    await folder.write('lamps', JSON.stringify(VALID_BODY));
    expect((await loadCampaignFile('lamps', folder.dir)).document.format).toBe('json');
    await folder.write('lamps-yaml', VALID_YAML);
    expect((await loadCampaignFile('lamps-yaml', folder.dir)).body).toEqual(VALID_BODY);
  });

  it('names a missing file, a folder and an empty file', async () => {
    expect(await inputError(() => loadCampaignFile('absent.yaml', folder.dir))).toBe('could not read absent.yaml: file not found');
    expect(await inputError(() => loadCampaignFile('.', folder.dir))).toBe('could not read .: it is a directory, not a file');
    await folder.write('empty.yaml', '\n  \n');
    expect(await inputError(() => loadCampaignFile('empty.yaml', folder.dir))).toBe('invalid empty.yaml: the file is empty');
  });

  it('reports YAML syntax errors with line and column', async () => {
    expect(await inputError(() => validate('id: x\nfirmware: [1,\n  2\nproductName: demo\n', 'bad.yaml'))).toMatch(/^invalid YAML in bad\.yaml:\d+:\d+: /);
    expect(await inputError(() => validate('id: x\nid: y\n', 'dup.yaml'))).toBe('invalid YAML in dup.yaml:2:1: Map keys must be unique');
    expect(await inputError(() => validate('target:\n\t- 1\n', 'tab.yaml'))).toBe('invalid YAML in tab.yaml:2:1: Tabs are not allowed as indentation');
  });

  it('rejects a second YAML document', async () => {
    expect(await inputError(() => validate(`${VALID_YAML}---\nid: other\n`, 'two.yaml'))).toBe(
      'invalid two.yaml:15:1: a second YAML document starts here; put one campaign in each file',
    );
  });

  it('reports JSON syntax errors with line and column', async () => {
    expect(await inputError(() => validate('{\n  "id": "x",\n}\n', 'bad.json'))).toBe('invalid JSON in bad.json:3:1: Expected double-quoted property name');
    expect(await inputError(() => validate('{\n  "id": "x"\n  "productName": "demo"\n}', 'comma.json'))).toBe(
      "invalid JSON in comma.json:3:3: Expected ',' or '}' after property value",
    );
    expect(await inputError(() => validate('{"id":', 'cut.json'))).toBe('invalid JSON in cut.json:1:7: Unexpected end of JSON input');
  });

  it('lists every invalid YAML field with its line', async () => {
    const text = [
      'id: lamps-1.1', //                      1
      'productName: demo', //                  2
      'target:', //                            3
      '  kind: everything', //                 4
      'firmware:', //                          5
      '  type: firmware', //                   6
      '  url: ftp://firmware.example/1.1', //  7
      '  version: "1.1"', //                   8
      '  size: 1000', //                       9
      'rollout:', //                           10
      '  maxConcurrent: 0', //                 11
      'extra: true', //                        12
    ].join('\n');
    const message = await inputError(() => validate(text, 'lamps.yaml'));
    expect(message.split('\n')).toEqual([
      'invalid campaign file lamps.yaml:',
      "  lamps.yaml:4:9: target.kind: kind must be one of 'devices', 'all', 'filter'",
      '  lamps.yaml:5:1: firmware.md5: missing required field',
      '  lamps.yaml:7:8: firmware.url: url must be an absolute http or https URL',
      '  lamps.yaml:11:18: rollout.maxConcurrent: Too small: expected number to be >=1',
      "  lamps.yaml:12:1: extra: unknown field 'extra'",
    ]);
  });

  it('rejects a backoff maximum below its start', async () => {
    const text = `${VALID_YAML}upgrade:\n  initialBackoffMs: 60000\n  maxBackoffMs: 1000\n`;
    const message = await inputError(() => validate(text, 'lamps.yaml'));
    expect(message).toBe('invalid campaign file lamps.yaml:\n  lamps.yaml:17:17: upgrade.maxBackoffMs: maxBackoffMs must be at least initialBackoffMs');
  });

  it('tells to quote a YAML version read as a number', async () => {
    const message = await inputError(() => validate(VALID_YAML.replace('version: "1.1"', 'version: 1.10'), 'lamps.yaml'));
    expect(message).toContain('lamps.yaml:9:12: firmware.version: Invalid input: expected string, received number; YAML reads 1.10 as a number, so quote it: "1.10"');
  });

  it('lists invalid JSON fields with their lines', async () => {
    const body = { ...VALID_BODY, rollout: { maxConcurrent: 50, firstWave: { count: 3, percent: 5, minSuccessPercent: 95 } }, target: { kind: 'devices', deviceNames: ['dev-1', 'bad name'] } };
    const message = await inputError(() => validate(JSON.stringify(body, null, 2), 'lamps.json'));
    const lines = message.split('\n');
    expect(lines[0]).toBe('invalid campaign file lamps.json:');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}lamps\.json:\d+:\d+: target\.deviceNames\.1: /));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}lamps\.json:\d+:\d+: rollout\.firstWave: a first wave needs exactly one of count and percent$/));
    // The device name is the second item of the list, on the line after the first.
    const nameLine = JSON.stringify(body, null, 2).split('\n').findIndex((line) => line.includes('"bad name"')) + 1;
    expect(message).toContain(`lamps.json:${nameLine}:`);
  });

  it('rejects a body that is not an object', async () => {
    expect(await inputError(() => validate('- one\n- two\n', 'list.yaml'))).toContain('list.yaml:1:1: (top level): Invalid input: expected object, received array');
  });
});
