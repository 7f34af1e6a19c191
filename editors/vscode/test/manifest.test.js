'use strict';
// package.json against the code: what it contributes is what the extension registers, what
// the adapter takes and what relive's version is.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const configs = require('../lib/config');

const here = path.resolve(__dirname, '..');
const repo = path.resolve(here, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
const extensionSource = fs.readFileSync(path.join(here, 'extension.js'), 'utf8');
const debuggerEntry = manifest.contributes.debuggers.find((d) => d.type === 'relive');

test('the package is what vsce and VS Code need', () => {
  assert.equal(manifest.name, 'relive');
  assert.match(manifest.publisher, /^[a-z0-9][a-z0-9-]*$/);
  assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
  assert.equal(manifest.engines.vscode, '^1.80.0');
  assert.equal(manifest.license, 'MIT');
  assert.ok(fs.existsSync(path.join(here, manifest.main)), manifest.main);
  assert.equal(manifest.dependencies, undefined, 'no runtime dependencies');
  assert.deepEqual(Object.keys(manifest.devDependencies), ['@vscode/vsce']);
  for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore', 'package-lock.json']) {
    assert.ok(fs.existsSync(path.join(here, file)), file);
  }
  assert.match(fs.readFileSync(path.join(here, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) \d{4} relive developers\n/);
  assert.match(fs.readFileSync(path.join(here, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## ${manifest.version.replace(/\./g, '\\.')}$`, 'm'));
  const lock = JSON.parse(fs.readFileSync(path.join(here, 'package-lock.json'), 'utf8'));
  assert.equal(lock.packages[''].devDependencies['@vscode/vsce'], manifest.devDependencies['@vscode/vsce']);
  assert.equal(lock.packages[''].version, manifest.version);
});

test('the version is relive\'s (pyproject.toml)', { skip: !fs.existsSync(path.join(repo, 'pyproject.toml')) && 'not in the relive repository' }, () => {
  const pyproject = fs.readFileSync(path.join(repo, 'pyproject.toml'), 'utf8');
  const project = pyproject.split(/^\[project\]$/m)[1] || '';
  const version = /^version\s*=\s*"([^"]+)"/m.exec(project.split(/^\[/m)[0]);
  assert.ok(version, 'pyproject.toml has a [project] version');
  assert.equal(manifest.version, version[1]);
});

test('every contributed command is registered, and every registered one contributed', () => {
  const contributed = manifest.contributes.commands.map((c) => c.command).sort();
  const registered = [...extensionSource.matchAll(/registerCommand\('([\w.]+)'/g)].map((m) => m[1]).sort();
  assert.deepEqual(registered, contributed);
  const used = [
    ...Object.values(manifest.contributes.menus).flat().map((m) => m.command),
    ...manifest.contributes.keybindings.map((k) => k.command),
    ...Object.values(debuggerEntry.variables),
  ];
  for (const command of used) assert.ok(contributed.includes(command), command);
  for (const c of manifest.contributes.commands) assert.equal(c.category, 'relive', c.command);
});

test('Apply Edits is on the debug toolbar of relive sessions, with a codicon', () => {
  const apply = manifest.contributes.commands.find((c) => c.command === 'relive.applyEdits');
  assert.equal(apply.title, 'Apply Edits');
  assert.match(apply.icon, /^\$\([a-z-]+\)$/);
  const toolbar = manifest.contributes.menus['debug/toolbar'].find((m) => m.command === 'relive.applyEdits');
  assert.match(toolbar.when, /debugType == relive/);
});

test('the debugger contribution', () => {
  assert.equal(debuggerEntry.label, 'relive: Python Edit and Continue');
  assert.deepEqual(debuggerEntry.languages, ['python']);
  const launch = debuggerEntry.configurationAttributes.launch.properties;
  for (const key of ['program', 'module', 'args', 'cwd', 'env', 'stopOnEntry', 'justMyCode',
    'hotReload', 'remap', 'python', 'console']) {
    assert.ok(launch[key], `launch.${key}`);
    assert.ok(launch[key].description || launch[key].markdownDescription, `launch.${key} is described`);
  }
  assert.deepEqual(launch.hotReload.enum, configs.HOT_RELOAD);
  assert.deepEqual(launch.remap.enum, configs.REMAP);
  assert.deepEqual(launch.console.enum, configs.CONSOLE);
  const attach = debuggerEntry.configurationAttributes.attach.properties;
  for (const key of ['processId', 'session', 'hotReload', 'remap', 'justMyCode']) {
    assert.ok(attach[key], `attach.${key}`);
    assert.ok(attach[key].description || attach[key].markdownDescription, `attach.${key} is described`);
  }
  assert.deepEqual(debuggerEntry.initialConfigurations, [configs.TEMPLATES.file]);
});

test('the snippets: launch a file, launch a module, attach to a process', () => {
  const snippets = debuggerEntry.configurationSnippets;
  assert.deepEqual(snippets.map((s) => s.label),
    ['relive: Launch a file', 'relive: Launch a module', 'relive: Attach to a process']);
  for (const snippet of snippets) {
    assert.equal(snippet.body.type, 'relive');
    assert.ok(snippet.description);
  }
  assert.deepEqual(snippets.map((s) => s.body.request), ['launch', 'launch', 'attach']);
  assert.equal(snippets[0].body.program, '^"\\${file}"');
  assert.equal(snippets[2].body.processId, '^"\\${command:pickProcess}"');
});

test('the settings', () => {
  const settings = manifest.contributes.configuration.properties;
  assert.deepEqual(settings['relive.hotReload'].enum, configs.HOT_RELOAD);
  assert.equal(settings['relive.hotReload'].default, 'auto');
  assert.equal(settings['relive.path'].type, 'string');
  assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('relive.path'));
  const read = [...extensionSource.matchAll(/getConfiguration\('relive'[^)]*\)\s*\.get\('(\w+)'/g)]
    .map((m) => `relive.${m[1]}`);
  const readLater = [...extensionSource.matchAll(/settings\.get\('(\w+)'\)/g)].map((m) => `relive.${m[1]}`);
  for (const key of [...read, ...readLater]) assert.ok(settings[key], `${key} is contributed`);
});

test('activation: on relive sessions and their configurations', () => {
  assert.ok(manifest.activationEvents.includes('onDebugResolve:relive'));
  assert.ok(manifest.activationEvents.includes('onDebugDynamicConfigurations:relive'));
});

// every launch and attach argument that relive dap reads is described
function argumentsRead(source, method) {
  const start = source.indexOf(`    def ${method}(`);
  if (start < 0) return [];
  const next = source.indexOf('\n    def ', start + 1);
  const body = source.slice(start, next < 0 ? undefined : next);
  return [...body.matchAll(/\bargs(?:\.get\(|\[)"(\w+)"/g)].map((m) => m[1]);
}

const adapterFile = path.join(repo, 'src', 'relive', 'dap', 'adapter.py');
test('every argument relive dap reads is in the configuration schema',
  { skip: !fs.existsSync(adapterFile) && 'not in the relive repository' }, () => {
    const source = fs.readFileSync(adapterFile, 'utf8');
    const launch = debuggerEntry.configurationAttributes.launch.properties;
    const attach = debuggerEntry.configurationAttributes.attach.properties;
    const launchArgs = [...argumentsRead(source, 'do_launch'), ...argumentsRead(source, '_start_program')];
    const attachArgs = argumentsRead(source, 'do_attach');
    assert.ok(launchArgs.includes('program') && attachArgs.includes('processId'), 'the adapter was read');
    for (const key of launchArgs) assert.ok(launch[key], `launch.${key}`);
    for (const key of attachArgs) assert.ok(attach[key], `attach.${key}`);
  });
