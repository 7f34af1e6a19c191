'use strict';
// extension.js driven through a stand-in for the `vscode` module: what it registers, the
// configurations it resolves, the adapter it starts and what it does with the adapter's
// custom events. (VS Code itself is not needed.)
const test = require('node:test');
const assert = require('node:assert/strict');
const Module = require('node:module');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function fakeVscode() {
  const calls = [];
  const registered = { commands: {}, providers: [], factories: {}, listeners: {} };
  const settings = { hotReload: 'auto', path: '', rudeEditNotifications: 'all' };
  const answers = [];  // what the next notification's button will be
  const listener = (name) => (fn) => { registered.listeners[name] = fn; return { dispose() {} }; };
  const note = (kind) => (text, ...items) => {
    calls.push([kind, text, ...items]);
    return Promise.resolve(answers.shift());
  };
  const lines = [];
  const diagnostics = new Map();
  class Uri {
    constructor(fsPath) { this.fsPath = fsPath; this.scheme = 'file'; }
    static file(p) { return new Uri(p); }
    toString() { return `file://${this.fsPath}`; }
  }
  const vscode = {
    calls, registered, settings, answers, lines, diagnostics, Uri,
    activeDebugSession: undefined,
    StatusBarAlignment: { Left: 1 },
    DiagnosticSeverity: { Error: 0, Warning: 1 },
    QuickPickItemKind: { Separator: -1 },
    DebugConfigurationProviderTriggerKind: { Initial: 1, Dynamic: 2 },
    Range: class { constructor(l1, c1, l2, c2) { this.start = { line: l1, character: c1 }; this.end = { line: l2, character: c2 }; } },
    Diagnostic: class { constructor(range, message, severity) { Object.assign(this, { range, message, severity }); } },
    DebugAdapterExecutable: class { constructor(command, args, options) { Object.assign(this, { command, args, options }); } },
    window: {
      activeTextEditor: undefined,
      createOutputChannel: () => ({ appendLine: (l) => lines.push(l), show() {}, dispose() {} }),
      createStatusBarItem: () => ({ show() { this.visible = true; }, hide() { this.visible = false; }, dispose() {} }),
      showErrorMessage: note('error'),
      showWarningMessage: note('warning'),
      showInformationMessage: note('info'),
      setStatusBarMessage: (text) => { calls.push(['status', text]); return { dispose() {} }; },
      showQuickPick: async (items) => items[0],
      showInputBox: async () => undefined,
      createTerminal: (options) => { calls.push(['terminal', options]); return { show() {} }; },
    },
    languages: {
      createDiagnosticCollection: () => ({
        get: (uri) => diagnostics.get(uri.fsPath),
        set: (uri, list) => diagnostics.set(uri.fsPath, list),
        delete: (uri) => diagnostics.delete(uri.fsPath),
        clear: () => diagnostics.clear(),
        dispose() {},
      }),
    },
    workspace: {
      textDocuments: [],
      getConfiguration: () => ({ get: (key, fallback) => (settings[key] !== undefined ? settings[key] : fallback) }),
      onDidSaveTextDocument: listener('save'),
    },
    extensions: { getExtension: () => undefined },
    commands: {
      registerCommand: (id, fn) => { registered.commands[id] = fn; return { dispose() {} }; },
      executeCommand: async (...args) => { calls.push(['command', ...args]); },
    },
    debug: {
      get activeDebugSession() { return vscode.activeDebugSession; },
      registerDebugConfigurationProvider: (type, provider, kind) => {
        registered.providers.push({ type, provider, kind }); return { dispose() {} };
      },
      registerDebugAdapterDescriptorFactory: (type, factory) => {
        registered.factories[type] = factory; return { dispose() {} };
      },
      onDidReceiveDebugSessionCustomEvent: listener('customEvent'),
      onDidStartDebugSession: listener('start'),
      onDidTerminateDebugSession: listener('terminate'),
      onDidChangeActiveDebugSession: listener('active'),
    },
  };
  return vscode;
}

function loadExtension() {
  const vscode = fakeVscode();
  const original = Module._load;
  Module._load = function load(request, ...rest) {
    if (request === 'vscode') return vscode;
    return original.call(this, request, ...rest);
  };
  const file = require.resolve('../extension.js');
  delete require.cache[file];
  try {
    const extension = require(file);
    extension.activate({ subscriptions: [] });
  } finally {
    Module._load = original;
  }
  return vscode;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const folder = { name: 'app', uri: { scheme: 'file', fsPath: os.tmpdir() } };
const src = path.resolve(__dirname, '..', '..', '..', 'src');

function session(vscode, overrides = {}) {
  const requests = [];
  const s = {
    id: `s${Math.random()}`, type: 'relive', name: 'relive: Current File', workspaceFolder: folder,
    configuration: { type: 'relive', request: 'launch', program: '/a/hello.py', hotReload: 'manual' },
    requests,
    customRequest: async (command, args) => { requests.push([command, args]); return s.answer; },
    ...overrides,
  };
  return s;
}

test('activate registers the providers, the factory, the commands and the listeners', () => {
  const vscode = loadExtension();
  assert.deepEqual(Object.keys(vscode.registered.commands).sort(),
    ['relive.applyEdits', 'relive.pickProcess', 'relive.showOutput']);
  assert.deepEqual(vscode.registered.providers.map((p) => [p.type, p.kind]),
    [['relive', undefined], ['relive', 2]]);
  assert.ok(vscode.registered.factories.relive);
  for (const name of ['customEvent', 'start', 'terminate', 'active', 'save']) {
    assert.equal(typeof vscode.registered.listeners[name], 'function', name);
  }
});

test('F5 without launch.json runs the active Python file with the hotReload setting', () => {
  const vscode = loadExtension();
  vscode.settings.hotReload = 'manual';
  vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file('/a/hello.py'), languageId: 'python' } };
  const provider = vscode.registered.providers[0].provider;
  const config = provider.resolveDebugConfiguration(folder, {});
  assert.equal(config.program, '/a/hello.py');
  assert.equal(config.hotReload, 'manual');
  vscode.window.activeTextEditor = undefined;
  assert.equal(provider.resolveDebugConfiguration(folder, {}), undefined);
  assert.equal(vscode.calls.at(-1)[0], 'error');
});

test('a relive.path that is not there stops the session with a message naming it', async () => {
  const vscode = loadExtension();
  vscode.settings.path = '/nowhere/bin/python3';
  const provider = vscode.registered.providers[0].provider;
  const result = await provider.resolveDebugConfigurationWithSubstitutedVariables(folder,
    { type: 'relive', request: 'launch', name: 'r', program: '/a/x.py' });
  assert.equal(result, undefined);
  const [kind, text, ...actions] = vscode.calls.find((c) => c[0] === 'error');
  assert.equal(kind, 'error');
  assert.equal(text, 'relive: /nowhere/bin/python3 (the setting relive.path) was not found. Correct ' +
    'the setting relive.path, or clear it to use the Python extension\'s selected interpreter.');
  assert.deepEqual(actions, ['Open Settings']);
});

test('an interpreter without relive offers to install it there', async () => {
  const vscode = loadExtension();
  vscode.settings.path = 'python3';
  vscode.answers.push('Install relive');
  const provider = vscode.registered.providers[0].provider;
  const saved = process.env.PYTHONPATH;
  process.env.PYTHONPATH = '';
  try {
    const result = await provider.resolveDebugConfigurationWithSubstitutedVariables(
      { name: 'empty', uri: { scheme: 'file', fsPath: fs.mkdtempSync(path.join(os.tmpdir(), 'relive-')) } },
      { type: 'relive', request: 'launch', name: 'r', program: '/a/x.py' });
    const error = vscode.calls.find((c) => c[0] === 'error');
    if (result !== undefined) return;  // this python3 has relive installed: nothing to offer
    assert.match(error[1], /relive is not installed in python3 \(the setting relive\.path, Python 3\.\d+\.\d+|relive needs CPython 3\.11/);
    if (!error.includes('Install relive')) return;  // too old a Python: no install offered
    await tick();
    const terminal = vscode.calls.find((c) => c[0] === 'terminal')[1];
    assert.deepEqual(terminal.shellArgs, ['-m', 'pip', 'install', 'relive']);
  } finally {
    process.env.PYTHONPATH = saved;
    if (saved === undefined) delete process.env.PYTHONPATH;
  }
});

test('the adapter runs as <python> -m relive dap from the interpreter that has relive',
  { skip: !fs.existsSync(path.join(src, 'relive', 'dap')) && 'not in the relive repository' }, async () => {
    const vscode = loadExtension();
    vscode.settings.path = 'python3';
    const provider = vscode.registered.providers[0].provider;
    const saved = process.env.PYTHONPATH;
    process.env.PYTHONPATH = src;
    try {
      const config = { type: 'relive', request: 'launch', name: 'r', program: '/a/x.py' };
      const result = await provider.resolveDebugConfigurationWithSubstitutedVariables(folder, config);
      if (result === undefined) {  // a python3 older than 3.11
        assert.match(vscode.calls.find((c) => c[0] === 'error')[1], /relive needs CPython 3\.11/);
        return;
      }
      assert.deepEqual(result, config);
      const descriptor = await vscode.registered.factories.relive.createDebugAdapterDescriptor(
        session(vscode, { configuration: config }));
      assert.equal(descriptor.command, 'python3');
      assert.deepEqual(descriptor.args, ['-m', 'relive', 'dap']);
      assert.equal(descriptor.options.cwd, folder.uri.fsPath);
      assert.match(vscode.lines.at(-1), /^"relive: Current File": python3 -m relive dap \(the setting relive\.path; Python 3\.\d+\.\d+; relive /);
    } finally {
      process.env.PYTHONPATH = saved;
      if (saved === undefined) delete process.env.PYTHONPATH;
    }
  });

test('the Python extension\'s interpreter is used when nothing else is set', async () => {
  const vscode = loadExtension();
  vscode.extensions.getExtension = (id) => (id === 'ms-python.python' ? {
    isActive: true,
    exports: { environments: {
      getActiveEnvironmentPath: () => ({ id: 'v', path: '/w/.venv' }),
      resolveEnvironment: async () => ({ executable: { uri: { fsPath: '/w/.venv/bin/python' } } }),
    } },
  } : undefined);
  const descriptor = await vscode.registered.factories.relive.createDebugAdapterDescriptor(session(vscode));
  assert.equal(descriptor.command, '/w/.venv/bin/python');
  assert.deepEqual(descriptor.args, ['-m', 'relive', 'dap']);
});

test('editApplied is logged in relive\'s words; rudeEdit is logged, shown and notified', async () => {
  const vscode = loadExtension();
  const s = session(vscode);
  vscode.activeDebugSession = s;
  vscode.registered.listeners.start(s);
  const event = vscode.registered.listeners.customEvent;
  event({ session: s, event: 'relive/editApplied', body: { generation: 3, files: ['/a/hello.py'],
    updated: ['print_world'], changes: { update: ['print_world'] }, durationMs: 12, processes: 1 } });
  assert.equal(vscode.lines.at(-1), 'hello.py: gen 3: updated print_world (12.0 ms)');
  event({ session: { ...s, type: 'python' }, event: 'relive/editApplied', body: {} });
  assert.equal(vscode.lines.at(-1), 'hello.py: gen 3: updated print_world (12.0 ms)', 'other debuggers\' events are not ours');

  vscode.answers.push('Restart');
  event({ session: s, event: 'relive/rudeEdit', body: { code: 'RL1001', severity: 'error', line: 12,
    source: { path: '/a/cart.py' }, message: 'the bases of class Cart changed: restart to apply',
    actions: ['restart', 'keepRunning'] } });
  assert.equal(vscode.lines.at(-1), 'cart.py:12: RL1001 error: the bases of class Cart changed: restart to apply');
  const [kind, text, ...buttons] = vscode.calls.find((c) => c[0] === 'warning');
  assert.equal(kind, 'warning');
  assert.match(text, /^relive did not apply the edit of cart\.py, line 12: /);
  assert.deepEqual(buttons, ['Restart', 'Keep running']);
  const [problem] = vscode.diagnostics.get('/a/cart.py');
  assert.equal(problem.range.start.line, 11);
  assert.equal(problem.code, 'RL1001');
  await tick();
  await tick();
  assert.deepEqual(vscode.calls.find((c) => c[0] === 'command'), ['command', 'workbench.action.debug.restart']);

  vscode.registered.listeners.save({ uri: vscode.Uri.file('/a/cart.py') });
  assert.equal(vscode.diagnostics.get('/a/cart.py'), undefined, 'a save clears the file\'s rude edits');
});

test('Restart of a session that is not the active one sends it the restart request', async () => {
  const vscode = loadExtension();
  const s = session(vscode);
  vscode.registered.listeners.start(s);
  vscode.answers.push('Restart');
  vscode.registered.listeners.customEvent({ session: s, event: 'relive/rudeEdit',
    body: { code: 'RL1004', severity: 'error', message: 'm', source: { path: '/a/x.py' }, line: 1 } });
  await tick();
  await tick();
  assert.deepEqual(s.requests, [['restart', { arguments: s.configuration }]]);
});

test('rudeEditNotifications "errors" leaves warnings to the output and the Problems view', () => {
  const vscode = loadExtension();
  vscode.settings.rudeEditNotifications = 'errors';
  const s = session(vscode);
  vscode.registered.listeners.start(s);
  vscode.registered.listeners.customEvent({ session: s, event: 'relive/rudeEdit',
    body: { code: 'RL2003', severity: 'warning', message: 'm', source: { path: '/a/x.py' }, line: 2, actions: [] } });
  assert.equal(vscode.calls.filter((c) => c[0] === 'info' || c[0] === 'warning').length, 0);
  assert.equal(vscode.lines.at(-1), 'x.py:2: RL2003 warning: m');
  assert.equal(vscode.diagnostics.get('/a/x.py').length, 1);
});

test('Apply Edits saves the Python files and sends hotReload to the relive session', async () => {
  const vscode = loadExtension();
  const s = session(vscode);
  s.answer = { applied: true, message: 'hello.py: gen 2: updated f', files: ['/a/hello.py'] };
  vscode.registered.listeners.start(s);
  const saved = [];
  vscode.workspace.textDocuments = [
    { isDirty: true, languageId: 'python', save: async () => saved.push('py') },
    { isDirty: true, languageId: 'markdown', save: async () => saved.push('md') },
  ];
  await vscode.registered.commands['relive.applyEdits']();
  assert.deepEqual(saved, ['py']);
  assert.deepEqual(s.requests, [['hotReload', undefined]]);
  assert.deepEqual(vscode.calls.at(-1), ['status', 'relive: hello.py: gen 2: updated f']);

  s.customRequest = async () => { throw new Error('the program did not pause to take the edit'); };
  await vscode.registered.commands['relive.applyEdits']();
  assert.deepEqual(vscode.calls.at(-1), ['error', 'relive: the edits were not applied: the program did not pause to take the edit']);
});

test('Apply Edits without a relive session says so', async () => {
  const vscode = loadExtension();
  await vscode.registered.commands['relive.applyEdits']();
  assert.match(vscode.calls.at(-1)[1], /no relive debug session is running/);
});
