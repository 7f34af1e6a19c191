'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const path = require('node:path');

const locate = require('../lib/locate');

const posix = { platform: 'linux', workspaceFolder: '/work/app', home: '/home/ada' };

test('expandPath: variables, ~ and paths relative to the workspace folder', () => {
  assert.equal(locate.expandPath('${workspaceFolder}/.venv/bin/python', posix), '/work/app/.venv/bin/python');
  assert.equal(locate.expandPath('~/venvs/a/bin/python', posix), '/home/ada/venvs/a/bin/python');
  assert.equal(locate.expandPath('${userHome}/bin/relive', posix), '/home/ada/bin/relive');
  assert.equal(locate.expandPath('.venv/bin/python', posix), '/work/app/.venv/bin/python');
  assert.equal(locate.expandPath('python3.12', posix), 'python3.12', 'a bare name is for PATH');
  assert.equal(locate.expandPath('.venv', posix), '/work/app/.venv');
  assert.equal(locate.expandPath('../envs/a', posix), '/work/envs/a');
  assert.equal(locate.expandPath('  /usr/bin/python3 ', posix), '/usr/bin/python3');
  assert.equal(locate.expandPath('', posix), undefined);
  assert.equal(locate.expandPath('   ', posix), undefined);
  assert.equal(locate.expandPath(undefined, posix), undefined);
  assert.equal(locate.expandPath(42, posix), undefined);
});

test('expandPath on Windows', () => {
  const win = { platform: 'win32', workspaceFolder: 'C:\\work\\app', home: 'C:\\Users\\ada' };
  assert.equal(locate.expandPath('.venv\\Scripts\\python.exe', win), 'C:\\work\\app\\.venv\\Scripts\\python.exe');
  assert.equal(locate.expandPath('~\\py\\python.exe', win), 'C:\\Users\\ada\\py\\python.exe');
  assert.equal(locate.expandPath('D:\\py\\python.exe', win), 'D:\\py\\python.exe');
});

test('isInterpreter tells an interpreter from the relive executable', () => {
  for (const name of ['python', 'python3', '/usr/bin/python3.12', 'python3.13t', 'pythonw.exe',
    'C:\\Python312\\python.exe', 'pypy3', 'py', 'Python.EXE']) {
    assert.ok(locate.isInterpreter(name), name);
  }
  for (const name of ['relive', '/v/bin/relive', 'relive.exe', 'ipython', 'python-config', 'pytest']) {
    assert.ok(!locate.isInterpreter(name), name);
  }
});

test('chooseAdapter: the setting, then the launch configuration, then the Python extension, then PATH', () => {
  const all = { ...posix, setting: '/opt/relive/bin/relive', launchPython: '/l/bin/python',
    extensionPython: '/x/bin/python' };
  assert.deepEqual(locate.chooseAdapter(all),
    { command: '/opt/relive/bin/relive', kind: 'relive', source: 'setting' });
  assert.deepEqual(locate.chooseAdapter({ ...all, setting: '~/v/bin/python3' }),
    { command: '/home/ada/v/bin/python3', kind: 'python', source: 'setting' });
  assert.deepEqual(locate.chooseAdapter({ ...all, setting: '' }),
    { command: '/l/bin/python', kind: 'python', source: 'launch' });
  assert.deepEqual(locate.chooseAdapter({ ...all, setting: ' ', launchPython: undefined }),
    { command: '/x/bin/python', kind: 'python', source: 'pythonExtension' });
  assert.deepEqual(locate.chooseAdapter(posix), { command: 'python3', kind: 'python', source: 'path' });
  assert.deepEqual(locate.chooseAdapter({ platform: 'win32' }), { command: 'python', kind: 'python', source: 'path' });
});

test('chooseAdapter: relive.path may name a virtual environment', () => {
  const isDirectory = (p) => p === '/work/app/.venv' || p === 'C:\\envs\\r';
  assert.deepEqual(locate.chooseAdapter({ ...posix, setting: '.venv', isDirectory }),
    { command: '/work/app/.venv/bin/python', kind: 'python', source: 'setting' });
  assert.deepEqual(locate.chooseAdapter({ platform: 'win32', setting: 'C:\\envs\\r', isDirectory }),
    { command: 'C:\\envs\\r\\Scripts\\python.exe', kind: 'python', source: 'setting' });
});

test('adapterCommand runs relive dap', () => {
  assert.deepEqual(locate.adapterCommand({ command: '/v/bin/python', kind: 'python' }),
    { command: '/v/bin/python', args: ['-m', 'relive', 'dap'] });
  assert.deepEqual(locate.adapterCommand({ command: '/v/bin/relive', kind: 'relive' }),
    { command: '/v/bin/relive', args: ['dap'] });
});

const fromExtension = { command: '/x/bin/python', kind: 'python', source: 'pythonExtension' };
const fromPath = { command: 'python3', kind: 'python', source: 'path' };
const fromSetting = { command: '/opt/bin/relive', kind: 'relive', source: 'setting' };
const json = (value) => ({ stdout: `${JSON.stringify(value)}\n`, stderr: '', code: 0 });

test('interpretProbe: a usable interpreter', () => {
  const found = locate.interpretProbe(fromExtension, json({ python: '3.12.4', implementation: 'cpython',
    executable: '/x/bin/python', location: '/x/lib/relive/__init__.py', relive: '0.1.0', dap: true }));
  assert.deepEqual(found, { ok: true, python: '3.12.4', relive: '0.1.0', executable: '/x/bin/python' });
});

test('interpretProbe: relive missing names the interpreter, where it came from and pip install relive', () => {
  const found = locate.interpretProbe(fromPath, json({ python: '3.11.7', implementation: 'cpython',
    executable: '/usr/bin/python3', missing: true }));
  assert.equal(found.ok, false);
  assert.equal(found.problem, 'not-installed');
  assert.match(found.message, /not installed in python3 \(from PATH, Python 3\.11\.7 at \/usr\/bin\/python3\)/);
  assert.match(found.message, /`\/usr\/bin\/python3 -m pip install relive`/);
  assert.deepEqual(found.install, { command: '/usr/bin/python3', args: ['-m', 'pip', 'install', 'relive'] });
  const viaExtension = locate.interpretProbe(fromExtension, json({ python: '3.12.1',
    implementation: 'cpython', executable: '/x/bin/python', missing: true }));
  assert.match(viaExtension.message,
    /^relive is not installed in \/x\/bin\/python \(the Python extension's selected interpreter, Python 3\.12\.1\)\./);
});

test('interpretProbe: a path with spaces is quoted in the command to run', () => {
  const candidate = { command: '/My Envs/py/bin/python', kind: 'python', source: 'setting' };
  const found = locate.interpretProbe(candidate, json({ python: '3.13.0', implementation: 'cpython',
    executable: '/My Envs/py/bin/python', missing: true }));
  assert.match(found.message, /`'\/My Envs\/py\/bin\/python' -m pip install relive`/);
  assert.equal(found.install.command, '/My Envs/py/bin/python');
});

test('interpretProbe: too old a Python, or not CPython', () => {
  const old = locate.interpretProbe(fromExtension, json({ python: '3.10.12', implementation: 'cpython',
    executable: '/x/bin/python' }));
  assert.equal(old.problem, 'unsupported');
  assert.match(old.message, /relive needs CPython 3\.11 or newer; \/x\/bin\/python \(the Python extension's selected interpreter\) is CPython 3\.10\.12\. Select another interpreter/);
  const pypy = locate.interpretProbe(fromPath, json({ python: '3.11.9', implementation: 'pypy' }));
  assert.equal(pypy.problem, 'unsupported');
  assert.match(pypy.message, /is pypy 3\.11\.9/);
  assert.equal(locate.interpretProbe(fromPath, json({ python: '3.11.0', implementation: 'cpython',
    location: '/r/__init__.py', dap: true })).ok, true);
});

test('interpretProbe: a relive without its DAP adapter, or one that does not import', () => {
  const old = locate.interpretProbe(fromExtension, json({ python: '3.12.1', implementation: 'cpython',
    executable: '/x/bin/python', location: '/x/relive/__init__.py', relive: '0.0.9', dap: false }));
  assert.equal(old.problem, 'too-old');
  assert.match(old.message, /relive 0\.0\.9 in .* has no DAP adapter .*pip install --upgrade relive/);
  const broken = locate.interpretProbe(fromExtension, json({ python: '3.12.1', implementation: 'cpython',
    executable: '/x/bin/python', error: "ModuleNotFoundError: No module named 'watchfiles'" }));
  assert.equal(broken.problem, 'broken');
  assert.match(broken.message, /does not import: ModuleNotFoundError: No module named 'watchfiles'/);
});

test('interpretProbe: an interpreter that is not there, or that is not Python', () => {
  const error = Object.assign(new Error('spawn /x/bin/python ENOENT'), { code: 'ENOENT' });
  const missing = locate.interpretProbe(fromExtension, { error });
  assert.equal(missing.problem, 'not-found');
  assert.equal(missing.message, 'relive: /x/bin/python (the Python extension\'s selected interpreter) ' +
    'was not found. Select another interpreter (Python: Select Interpreter), or set relive.path.');
  const path3 = locate.interpretProbe(fromPath, { error });
  assert.match(path3.message, /python3 \(from PATH\) was not found\. Install the Python extension/);
  const denied = locate.interpretProbe(fromSetting, { error: { code: 'EACCES' } });
  assert.match(denied.message, /cannot be run \(permission denied\)\. Correct the setting relive\.path/);
  const notPython = locate.interpretProbe(fromExtension, { stdout: '', stderr: 'Unknown option: -c\n', code: 2,
    error: { code: 2 } });
  assert.equal(notPython.problem, 'failed');
  assert.match(notPython.message, /did not run as a Python interpreter \(Unknown option: -c\)/);
  const slow = locate.interpretProbe(fromExtension, { error: { killed: true, signal: 'SIGTERM' } });
  assert.equal(slow.problem, 'timeout');
});

test('interpretProbe: the relive executable', () => {
  const ok = locate.interpretProbe(fromSetting, { stdout: 'usage: relive dap [--listen HOST:PORT]\n', code: 0 });
  assert.equal(ok.ok, true);
  const old = locate.interpretProbe(fromSetting, { stdout: '', stderr: 'relive: unknown command dap\n',
    code: 2, error: { code: 2 } });
  assert.equal(old.ok, false);
  assert.match(old.message, /\/opt\/bin\/relive \(the setting relive\.path\) could not serve the Debug Adapter Protocol \(\/opt\/bin\/relive dap --help failed: relive: unknown command dap\)/);
});

test('probe runs the probe command and reads its answer', async () => {
  const calls = [];
  const found = await locate.probe(fromExtension, async (command, args) => {
    calls.push([command, args]);
    return json({ python: '3.13.1', implementation: 'cpython', executable: command,
      location: '/r/__init__.py', relive: '0.1.0', dap: true });
  });
  assert.equal(found.ok, true);
  assert.deepEqual(calls, [['/x/bin/python', ['-c', locate.PROBE_SCRIPT]]]);
  const threw = await locate.probe(fromExtension, async () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); });
  assert.equal(threw.problem, 'not-found');
});

test('pythonFromExtensionApi: the environments API', async () => {
  const seen = [];
  const api = { environments: {
    getActiveEnvironmentPath(resource) { seen.push(resource); return { id: 'v', path: '/w/.venv' }; },
    async resolveEnvironment(env) { return env.id === 'v' ? { executable: { uri: { fsPath: '/w/.venv/bin/python' } } } : undefined; },
  } };
  assert.equal(await locate.pythonFromExtensionApi(api, 'folder-uri'), '/w/.venv/bin/python');
  assert.deepEqual(seen, ['folder-uri']);
  const noExecutable = { environments: {
    getActiveEnvironmentPath: () => ({ id: 'c', path: '/conda/envs/bare' }),
    resolveEnvironment: async () => ({ executable: { uri: undefined } }),
  } };
  assert.equal(await locate.pythonFromExtensionApi(noExecutable), undefined);
  const pathOnly = { environments: {
    getActiveEnvironmentPath: () => ({ id: 'p', path: '/usr/bin/python3' }),
    resolveEnvironment: async () => undefined,
  } };
  assert.equal(await locate.pythonFromExtensionApi(pathOnly), '/usr/bin/python3');
});

test('pythonFromExtensionApi: the older settings API, and failures', async () => {
  const older = { settings: { getExecutionDetails: () => ({ execCommand: ['/o/bin/python'] }) } };
  assert.equal(await locate.pythonFromExtensionApi(older), '/o/bin/python');
  const conda = { settings: { getExecutionDetails: () => ({ execCommand: ['conda', 'run', '-n', 'x', 'python'] }) } };
  assert.equal(await locate.pythonFromExtensionApi(conda), undefined);
  const failing = { environments: { getActiveEnvironmentPath: () => { throw new Error('not ready'); } } };
  assert.equal(await locate.pythonFromExtensionApi(failing), undefined);
  const rejecting = { environments: { getActiveEnvironmentPath: () => ({ id: 'v', path: '/v' }),
    resolveEnvironment: () => Promise.reject(new Error('no')) } };
  assert.equal(await locate.pythonFromExtensionApi(rejecting), undefined);
  assert.equal(await locate.pythonFromExtensionApi(undefined), undefined);
  assert.equal(await locate.pythonFromExtensionApi({}), undefined);
});

test('commandLine quotes what a shell would split', () => {
  assert.equal(locate.commandLine('/usr/bin/python3', ['-m', 'pip', 'install', 'relive']),
    '/usr/bin/python3 -m pip install relive');
  assert.equal(locate.commandLine("/it's here/python"), "'/it'\\''s here/python'");
});

// The probe script itself, run by real interpreters.
function runProbe(python, env = {}) {
  const result = childProcess.spawnSync(python, ['-c', locate.PROBE_SCRIPT], {
    encoding: 'utf8', env: { ...process.env, ...env }, cwd: require('node:os').tmpdir(), timeout: 30000 });
  return { error: result.error, stdout: result.stdout, stderr: result.stderr, code: result.status };
}
const hasPython3 = !childProcess.spawnSync('python3', ['-c', 'pass']).error;
const src = path.resolve(__dirname, '..', '..', '..', 'src');

test('the probe script answers from a real python3', { skip: !hasPython3 && 'no python3' }, () => {
  const result = runProbe('python3', { PYTHONPATH: '' });
  const line = JSON.parse(result.stdout.trim().split('\n').pop());
  assert.match(line.python, /^\d+\.\d+\.\d+$/);
  assert.equal(typeof line.executable, 'string');
  const found = locate.interpretProbe(fromPath, result);
  assert.ok(found.ok || ['not-installed', 'unsupported', 'broken'].includes(found.problem), found.message);
});

test('the probe script finds relive and its DAP adapter in this repository',
  { skip: (!hasPython3 && 'no python3') || (!require('node:fs').existsSync(path.join(src, 'relive', 'dap')) && 'not in the relive repository') }, () => {
    const result = runProbe('python3', { PYTHONPATH: src });
    const line = JSON.parse(result.stdout.trim().split('\n').pop());
    if (line.implementation !== 'cpython' || !/^3\.(1[1-9]|[2-9]\d)\./.test(line.python)) {
      assert.equal(locate.interpretProbe(fromPath, result).problem, 'unsupported');
      return;
    }
    assert.equal(line.location, path.join(src, 'relive', '__init__.py'));
    assert.equal(line.dap, true);
    assert.equal(locate.interpretProbe(fromPath, result).ok, true);
  });

test('the probe script says so when relive is not there', { skip: !hasPython3 && 'no python3' }, () => {
  const result = runProbe('python3', { PYTHONPATH: '', PYTHONNOUSERSITE: '1', PYTHONSAFEPATH: '1' });
  const line = JSON.parse(result.stdout.trim().split('\n').pop());
  // python3 here may have relive installed: then it is found, else it is missing
  assert.ok(line.missing === true || line.dap === true || line.implementation !== 'cpython' ||
    !/^3\.(1[1-9]|[2-9]\d)\./.test(line.python), result.stdout);
});
