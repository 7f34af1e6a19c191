'use strict';
// relive for VS Code: runs `relive dap` for debug sessions of type "relive", and shows what
// Edit and Continue does (applies, rude edits) as it happens.

const vscode = require('vscode');
const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');

const locate = require('./lib/locate');
const messages = require('./lib/messages');
const configs = require('./lib/config');
const processes = require('./lib/processes');

const TYPE = configs.TYPE;
const PYTHON_EXTENSION = 'ms-python.python';
const PROBE_TIMEOUT_MS = 20000;
const PYTHON_API_TIMEOUT_MS = 15000;

let output;
let diagnostics;
let statusItem;
// the relive sessions running: id -> { session, last (the last apply's line), generation }
const running = new Map();
// what the last probe of each adapter command found (for the line that says which started)
const probed = new Map();

// -- finding relive ------------------------------------------------------------------------

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((resolve) => { timer = setTimeout(() => resolve(undefined), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** The interpreter that the Python extension has selected for `resource`, if it is there. */
async function pythonFromExtension(resource) {
  const extension = vscode.extensions.getExtension(PYTHON_EXTENSION);
  if (!extension) return undefined;
  try {
    if (!extension.isActive) await withTimeout(Promise.resolve(extension.activate()), PYTHON_API_TIMEOUT_MS);
    if (!extension.isActive) {
      output.appendLine('the Python extension did not start in time: its interpreter is not used');
      return undefined;
    }
    return await withTimeout(locate.pythonFromExtensionApi(extension.exports, resource),
      PYTHON_API_TIMEOUT_MS);
  } catch (error) {
    output.appendLine(`the Python extension did not say which interpreter is selected: ${error.message}`);
    return undefined;
  }
}

function folderPath(folder) {
  return folder && folder.uri && folder.uri.scheme === 'file' ? folder.uri.fsPath : undefined;
}

/** Where the adapter runs: the workspace folder when it is a local directory. */
function adapterCwd(folder) {
  const dir = folderPath(folder);
  return dir && isDirectory(dir) ? dir : undefined;
}

function isDirectory(file) {
  try {
    return fs.statSync(file).isDirectory();
  } catch (_) {
    return false;
  }
}

/** Which command runs `relive dap` for `config` in `folder` (see lib/locate.js). */
async function chooseAdapter(folder, config) {
  const setting = vscode.workspace.getConfiguration('relive', folder && folder.uri).get('path');
  const launchPython = typeof config.python === 'string' ? config.python : undefined;
  const hasOwn = (setting && String(setting).trim()) || (launchPython && launchPython.trim());
  const extensionPython = hasOwn ? undefined : await pythonFromExtension(folder && folder.uri);
  return locate.chooseAdapter({ setting, launchPython, extensionPython,
    workspaceFolder: folderPath(folder), home: os.homedir(), isDirectory });
}

function run(cwd) {
  return (command, args) => new Promise((resolve) => {
    childProcess.execFile(command, args, { cwd, timeout: PROBE_TIMEOUT_MS, windowsHide: true,
      maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ error: error || undefined,
        code: error && typeof error.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

function runInTerminal(name, command, args, cwd) {
  const terminal = vscode.window.createTerminal({ name, shellPath: command, shellArgs: args, cwd });
  terminal.show();
}

/** Tell the user that `candidate` cannot run relive (`found`: interpretProbe's answer), with
 * the actions that fix it. */
function reportMissing(candidate, found, folder) {
  output.appendLine(found.message);
  const actions = [];
  if (found.install) actions.push('Install relive');
  if (vscode.extensions.getExtension(PYTHON_EXTENSION) &&
      (candidate.source === 'pythonExtension' || candidate.source === 'path')) {
    actions.push('Select Interpreter');
  }
  if (candidate.source === 'launch') actions.push('Open launch.json');
  else actions.push('Open Settings');
  vscode.window.showErrorMessage(found.message, ...actions).then((choice) => {
    if (choice === 'Install relive') {
      runInTerminal('relive: install', found.install.command, found.install.args, adapterCwd(folder));
    } else if (choice === 'Select Interpreter') {
      vscode.commands.executeCommand('python.setInterpreter');
    } else if (choice === 'Open launch.json') {
      vscode.commands.executeCommand('workbench.action.debug.configure');
    } else if (choice === 'Open Settings') {
      vscode.commands.executeCommand('workbench.action.openSettings', 'relive.path');
    }
  });
}

// -- configurations ------------------------------------------------------------------------

function activeFile() {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.uri.scheme !== 'file') return undefined;
  return { path: editor.document.uri.fsPath, languageId: editor.document.languageId };
}

function refuse(result) {
  const actions = result.openLaunchJson ? ['Open launch.json'] : [];
  vscode.window.showErrorMessage(result.error, ...actions).then((choice) => {
    if (choice === 'Open launch.json') vscode.commands.executeCommand('workbench.action.debug.configure');
  });
  return undefined;  // the session does not start
}

class ConfigurationProvider {
  async provideDebugConfigurations(folder) {
    const picked = await vscode.window.showQuickPick([
      { label: 'Python File', description: 'run the current file with Edit and Continue', template: 'file' },
      { label: 'Module', description: 'run a module (python -m) with Edit and Continue', template: 'module' },
      { label: 'Attach to a Process', description: 'a running CPython 3.11+ process', template: 'attach' },
    ], { placeHolder: 'What should the relive configuration run?' });
    if (!picked || picked.template === 'file') return [configs.template('file')];
    if (picked.template === 'attach') return [configs.template('attach')];
    const module = await vscode.window.showInputBox({
      prompt: 'The module to run (as with python -m)', placeHolder: 'package.module',
      value: folder ? folder.name.replace(/[^\w.]/g, '_') : '',
    });
    return [configs.template('module', module ? { module, name: `relive: ${module}` } : {})];
  }

  resolveDebugConfiguration(folder, config) {
    const settings = vscode.workspace.getConfiguration('relive', folder && folder.uri);
    const result = configs.resolveConfiguration(config, {
      activeFile: activeFile(), settings: { hotReload: settings.get('hotReload') },
      workspaceFolder: folderPath(folder),
    });
    return result.error ? refuse(result) : result.config;
  }

  async resolveDebugConfigurationWithSubstitutedVariables(folder, config) {
    const result = configs.resolveSubstituted(config);
    if (result.error) return refuse(result);
    if (result.config.debugServer) return result.config;  // an adapter someone started
    const candidate = await chooseAdapter(folder, result.config);
    const found = await locate.probe(candidate, run(adapterCwd(folder)));
    if (!found.ok) {
      reportMissing(candidate, found, folder);
      return undefined;
    }
    probed.set(candidate.command, found);
    return result.config;
  }
}

class DynamicConfigurationProvider {
  provideDebugConfigurations() {
    return [configs.template('file'), configs.template('attach')];
  }
}

class AdapterFactory {
  async createDebugAdapterDescriptor(session) {
    const folder = session.workspaceFolder;
    const candidate = await chooseAdapter(folder, session.configuration);
    const { command, args } = locate.adapterCommand(candidate);
    const source = candidate.source === 'path' ? 'from PATH' : locate.SOURCES[candidate.source];
    output.appendLine(messages.adapterLine(session.name, locate.commandLine(command, args), source,
      probed.get(candidate.command)));
    const cwd = adapterCwd(folder);
    return new vscode.DebugAdapterExecutable(command, args, cwd ? { cwd } : {});
  }
}

// -- sessions, events and commands -----------------------------------------------------------

function reliveSessions() {
  return [...running.values()].map((entry) => entry.session);
}

/** The relive session a command is for: the one it was given, the active one, the only one,
 * or the one the user picks. */
async function sessionFor(arg) {
  if (arg && arg.type === TYPE && running.has(arg.id)) return arg;
  if (arg && arg.sessionId && running.has(arg.sessionId)) return running.get(arg.sessionId).session;
  const active = vscode.debug.activeDebugSession;
  if (active && active.type === TYPE) return active;
  const all = reliveSessions();
  if (all.length <= 1) return all[0];
  const picked = await vscode.window.showQuickPick(
    all.map((session) => ({ label: session.name, session })),
    { placeHolder: 'Apply the saved edits to which relive session?' });
  return picked && picked.session;
}

function hotReloadOf(session) {
  return (session && session.configuration && session.configuration.hotReload) || 'auto';
}

function updateStatus() {
  const active = vscode.debug.activeDebugSession;
  const entry = active && running.get(active.id);
  if (!entry) {
    statusItem.hide();
    return;
  }
  const mode = hotReloadOf(entry.session);
  statusItem.text = entry.generation !== undefined ? `$(flame) relive: gen ${entry.generation}` : '$(flame) relive';
  statusItem.tooltip = [
    `relive: hot reload ${mode}`,
    ...(entry.last ? [`last apply: ${entry.last}`] : []),
    mode === 'auto' ? 'Click to show the relive output.' : 'Click to apply the saved edits.',
  ].join('\n');
  statusItem.command = mode === 'auto' ? 'relive.showOutput' : 'relive.applyEdits';
  statusItem.show();
}

async function restart(session) {
  if (!running.has(session.id)) {
    vscode.window.showInformationMessage(`relive: the session "${session.name}" has ended; start it again to run the edited code.`);
    return;
  }
  try {
    const active = vscode.debug.activeDebugSession;
    if (active && active.id === session.id) {
      await vscode.commands.executeCommand('workbench.action.debug.restart');
    } else {
      await session.customRequest('restart', { arguments: session.configuration });
    }
    diagnostics.clear();  // the program starts again from the files as they are
  } catch (error) {
    vscode.window.showErrorMessage(`relive: could not restart "${session.name}": ${error.message}`);
  }
}

function showRudeEdit(session, body) {
  const diagnostic = messages.rudeEditDiagnostic(body);
  if (diagnostic) {
    const uri = vscode.Uri.file(diagnostic.path);
    const item = new vscode.Diagnostic(new vscode.Range(diagnostic.line, 0, diagnostic.line, 1000),
      diagnostic.message, diagnostic.severity === 'warning'
        ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error);
    item.source = 'relive';
    if (diagnostic.code) item.code = diagnostic.code;
    const others = (diagnostics.get(uri) || []).filter((d) => d.code !== item.code ||
      d.message !== item.message || d.range.start.line !== diagnostic.line);
    diagnostics.set(uri, [...others, item]);
  }
  const notify = vscode.workspace.getConfiguration('relive', session.workspaceFolder && session.workspaceFolder.uri)
    .get('rudeEditNotifications', 'all');
  const note = messages.rudeEditNotification(body);
  if (notify === 'none' || (notify === 'errors' && note.severity !== 'error')) return;
  const titles = note.actions.map((action) => action.title);
  const shown = note.severity === 'error'
    ? vscode.window.showWarningMessage(note.text, ...titles)
    : vscode.window.showInformationMessage(note.text, ...titles);
  shown.then((title) => {
    const action = note.actions.find((a) => a.title === title);
    if (action && action.id === 'restart') restart(session);
  });
}

function onCustomEvent(event) {
  const session = event.session;
  if (!session || session.type !== TYPE) return;
  const body = event.body || {};
  if (event.event === 'relive/editApplied') {
    const line = messages.editAppliedLine(body);
    output.appendLine(line);
    const entry = running.get(session.id);
    if (entry) {
      entry.last = line;
      if (typeof body.generation === 'number') entry.generation = body.generation;
      updateStatus();
    }
  } else if (event.event === 'relive/rudeEdit') {
    output.appendLine(messages.rudeEditLine(body));
    showRudeEdit(session, body);
  }
}

async function applyEdits(arg) {
  const session = await sessionFor(arg);
  if (!session) {
    vscode.window.showInformationMessage('relive: no relive debug session is running: start one ' +
      'to apply edits to it.');
    return;
  }
  // the adapter applies what is saved: save the Python files first
  const dirty = vscode.workspace.textDocuments.filter((doc) => doc.isDirty && doc.languageId === 'python');
  await Promise.all(dirty.map((doc) => doc.save()));
  let response;
  try {
    response = await session.customRequest('hotReload');
  } catch (error) {
    vscode.window.showErrorMessage(`relive: the edits were not applied: ${error.message}`);
    return;
  }
  const said = messages.applyResponseMessage(response);
  if (!said) return;
  if (said.level === 'status') vscode.window.setStatusBarMessage(said.text, 4000);
  else if (said.level === 'info') vscode.window.showInformationMessage(said.text);
  else vscode.window.showWarningMessage(said.text);
}

async function pickProcess() {
  if (process.platform === 'win32') {
    const pid = await vscode.window.showInputBox({ prompt: 'The process id of the Python program to attach to',
      validateInput: (text) => (/^\s*\d+\s*$/.test(text) ? undefined : 'a process id is a number') });
    return pid && pid.trim();
  }
  const { command, args } = processes.PS_COMMAND;
  const listed = await run(undefined)(command, args);
  if (listed.error && !listed.stdout) {
    vscode.window.showErrorMessage(`relive: could not list the processes (${command}): ${listed.error.message}`);
    return undefined;
  }
  const found = processes.parseProcessList(listed.stdout, { exclude: [process.pid] });
  const item = (p) => ({ label: p.label, description: `pid ${p.pid}`, detail: p.args, pid: p.pid });
  const python = found.filter((p) => p.python).map(item);
  const others = found.filter((p) => !p.python).map(item);
  const separator = (label) => ({ label, kind: vscode.QuickPickItemKind.Separator });
  const items = [
    ...(python.length ? [separator('Python'), ...python] : []),
    ...(others.length ? [separator('other processes'), ...others] : []),
  ];
  const picked = await vscode.window.showQuickPick(items, {
    placeHolder: python.length ? 'Pick the Python process to attach to'
      : 'No Python process found: pick a process that embeds Python',
    matchOnDescription: true, matchOnDetail: true,
  });
  return picked && picked.pid ? String(picked.pid) : undefined;
}

// -- activation ----------------------------------------------------------------------------

function activate(context) {
  output = vscode.window.createOutputChannel('relive');
  diagnostics = vscode.languages.createDiagnosticCollection('relive');
  statusItem = vscode.window.createStatusBarItem('relive.status', vscode.StatusBarAlignment.Left, 10);
  statusItem.name = 'relive';
  context.subscriptions.push(
    output, diagnostics, statusItem,
    vscode.debug.registerDebugConfigurationProvider(TYPE, new ConfigurationProvider()),
    vscode.debug.registerDebugConfigurationProvider(TYPE, new DynamicConfigurationProvider(),
      vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.debug.registerDebugAdapterDescriptorFactory(TYPE, new AdapterFactory()),
    vscode.commands.registerCommand('relive.applyEdits', applyEdits),
    vscode.commands.registerCommand('relive.pickProcess', pickProcess),
    vscode.commands.registerCommand('relive.showOutput', () => output.show(true)),
    vscode.debug.onDidReceiveDebugSessionCustomEvent(onCustomEvent),
    vscode.debug.onDidStartDebugSession((session) => {
      if (session.type !== TYPE) return;
      running.set(session.id, { session, last: undefined, generation: undefined });
      updateStatus();
    }),
    vscode.debug.onDidTerminateDebugSession((session) => {
      if (!running.delete(session.id)) return;
      if (running.size === 0) diagnostics.clear();  // they were about the programs that ran
      updateStatus();
    }),
    vscode.debug.onDidChangeActiveDebugSession(updateStatus),
    // a saved file is applied (or refused) anew: its old rude edits no longer hold
    vscode.workspace.onDidSaveTextDocument((doc) => diagnostics.delete(doc.uri)),
  );
}

function deactivate() {}

module.exports = { activate, deactivate };
