'use strict';
// Which command starts `relive dap`, and whether it can: the interpreter (or relive
// executable) is chosen from the setting relive.path, the launch configuration's "python",
// the Python extension's selected interpreter, then python3 on PATH, in that order; a probe
// then checks that it runs, is CPython 3.11 or newer and has relive with its DAP adapter.
//
// Nothing here uses VS Code: every input is an argument (the Python extension's API object
// too), so that all of it can be tested with plain node.

const path = require('path');

// where a candidate came from, as a message names it
const SOURCES = Object.freeze({
  setting: 'the setting relive.path',
  launch: 'the launch configuration\'s "python"',
  pythonExtension: 'the Python extension\'s selected interpreter',
  path: 'PATH',
});

const MIN_PYTHON = [3, 11];

// Run with the candidate interpreter: prints one line of JSON saying what it is and whether
// relive (with its DAP adapter) imports there. Written so that any Python prints that line.
const PROBE_SCRIPT = [
  'import json, sys',
  'impl = getattr(sys, "implementation", None)',
  'r = {"python": "%d.%d.%d" % tuple(sys.version_info[:3]),',
  '     "implementation": getattr(impl, "name", "unknown"), "executable": sys.executable}',
  'if sys.version_info >= (3, 11) and r["implementation"] == "cpython":',
  '    try:',
  '        import relive',
  '    except ImportError as e:',
  '        if e.name in (None, "relive"):',
  '            r["missing"] = True',
  '        else:',
  '            r["error"] = "%s: %s" % (type(e).__name__, e)',
  '    except Exception as e:',
  '        r["error"] = "%s: %s" % (type(e).__name__, e)',
  '    else:',
  '        import importlib.util',
  '        r["location"] = getattr(relive, "__file__", None) or ""',
  '        r["relive"] = str(getattr(relive, "__version__", ""))',
  '        if not r["location"]:',
  '            r["missing"] = True',
  '        else:',
  '            try:',
  '                r["dap"] = importlib.util.find_spec("relive.dap.adapter") is not None',
  '            except Exception as e:',
  '                r["dap"] = False',
  '                r["error"] = "%s: %s" % (type(e).__name__, e)',
  'print(json.dumps(r))',
].join('\n');

function pathModule(platform) {
  return platform === 'win32' ? path.win32 : path.posix;
}

/**
 * A path as a user writes it in a setting or a launch configuration, made usable:
 * `${workspaceFolder}`, `${userHome}` and a leading `~` are expanded, and a relative path
 * with a directory in it (`.venv/bin/python`) or starting with a dot (`.venv`) is taken from
 * the workspace folder. A bare name (`python3.12`, `relive`) is left for PATH. Empty or blank:
 * undefined.
 */
function expandPath(value, { workspaceFolder, home, platform = process.platform } = {}) {
  if (typeof value !== 'string') return undefined;
  let text = value.trim();
  if (!text) return undefined;
  const p = pathModule(platform);
  if (workspaceFolder) text = text.split('${workspaceFolder}').join(workspaceFolder);
  if (home) {
    text = text.split('${userHome}').join(home);
    if (text === '~') text = home;
    else if (text.startsWith('~/') || (platform === 'win32' && text.startsWith('~\\'))) {
      text = p.join(home, text.slice(2));
    }
  }
  const hasDirectory = platform === 'win32' ? /[\\/]/.test(text) : text.includes('/');
  if (!p.isAbsolute(text) && (hasDirectory || text.startsWith('.')) && workspaceFolder) {
    text = p.resolve(workspaceFolder, text);
  }
  return text;
}

/** True when `file` names a Python interpreter (python, python3.12, python3.13t, pythonw.exe,
 * pypy3, the Windows launcher py) rather than the relive executable. */
function isInterpreter(file) {
  const base = String(file).split(/[\\/]/).pop().toLowerCase().replace(/\.exe$/, '');
  return /^(python|pypy)(\d+(\.\d+)*)?[tw]?$/.test(base) || base === 'py';
}

/**
 * The command to start the adapter with, from the first of these that is given:
 * `setting` (relive.path: the relive executable, an interpreter, or a virtual environment's
 * directory, told by `isDirectory(path)`), `launchPython` (the launch configuration's
 * "python"), `extensionPython` (the Python extension's selected interpreter), else python3
 * (python on Windows) from PATH.
 * Returns { command, kind: 'python'|'relive', source } (source: a key of SOURCES).
 */
function chooseAdapter({ setting, launchPython, extensionPython, workspaceFolder, home,
  platform = process.platform, isDirectory = () => false } = {}) {
  const where = { workspaceFolder, home, platform };
  const fromSetting = expandPath(setting, where);
  if (fromSetting) {
    if (isDirectory(fromSetting)) {  // a virtual environment: its interpreter
      const p = pathModule(platform);
      const python = platform === 'win32'
        ? p.join(fromSetting, 'Scripts', 'python.exe') : p.join(fromSetting, 'bin', 'python');
      return { command: python, kind: 'python', source: 'setting' };
    }
    return { command: fromSetting, kind: isInterpreter(fromSetting) ? 'python' : 'relive',
      source: 'setting' };
  }
  const fromLaunch = expandPath(launchPython, where);
  if (fromLaunch) return { command: fromLaunch, kind: 'python', source: 'launch' };
  const fromExtension = expandPath(extensionPython, where);
  if (fromExtension) return { command: fromExtension, kind: 'python', source: 'pythonExtension' };
  return { command: platform === 'win32' ? 'python' : 'python3', kind: 'python', source: 'path' };
}

/** The program and arguments that run `relive dap` for a candidate of chooseAdapter. */
function adapterCommand(candidate) {
  return candidate.kind === 'relive'
    ? { command: candidate.command, args: ['dap'] }
    : { command: candidate.command, args: ['-m', 'relive', 'dap'] };
}

/** The program and arguments of the probe of a candidate (see interpretProbe). */
function probeCommand(candidate) {
  return candidate.kind === 'relive'
    ? { command: candidate.command, args: ['dap', '--help'] }
    : { command: candidate.command, args: ['-c', PROBE_SCRIPT] };
}

/** `arg` as a POSIX shell reads it: quoted only when it has to be. */
function shellQuote(arg) {
  const text = String(arg);
  if (/^[\w@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** A command line to show in a message. */
function commandLine(command, args = []) {
  return [command, ...args].map(shellQuote).join(' ');
}

/** The candidate as messages name it: `/venv/bin/python (the Python extension's selected
 * interpreter)`, `python3 (from PATH)`. */
function describe(candidate) {
  const from = candidate.source === 'path' ? 'from PATH' : SOURCES[candidate.source];
  return `${candidate.command} (${from})`;
}

function whatToDo(candidate) {
  switch (candidate.source) {
    case 'setting':
      return 'Correct the setting relive.path, or clear it to use the Python extension\'s ' +
        'selected interpreter.';
    case 'launch':
      return 'Correct "python" in the launch configuration, or remove it to use the selected ' +
        'interpreter.';
    case 'pythonExtension':
      return 'Select another interpreter (Python: Select Interpreter), or set relive.path.';
    default:
      return 'Install the Python extension and select an interpreter, or set relive.path to ' +
        'a Python 3.11+ interpreter that has relive.';
  }
}

/** `pip install relive` into the interpreter that was probed (`executable`: its
 * sys.executable, which a shim such as pyenv's resolves to). */
function installCommand(candidate, executable, upgrade = false) {
  const command = executable && /^([A-Za-z]:)?[\\/]/.test(executable) ? executable : candidate.command;
  return { command, args: ['-m', 'pip', 'install', ...(upgrade ? ['--upgrade'] : []), 'relive'] };
}

/** The candidate with what the probe found: `python3 (from PATH, Python 3.11.7 at
 * /usr/bin/python3)`, `/v/bin/python (the setting relive.path, Python 3.12.1)`. */
function describeFound(candidate, found) {
  const from = candidate.source === 'path' ? 'from PATH' : SOURCES[candidate.source];
  const at = found.executable && found.executable !== candidate.command
    ? ` at ${found.executable}` : '';
  return `${candidate.command} (${from}, Python ${found.python}${at})`;
}

function lastJsonLine(text) {
  const lines = String(text || '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    if (lines[i].startsWith('{')) {
      try {
        return JSON.parse(lines[i]);
      } catch (_) {
        return undefined;
      }
    }
  }
  return undefined;
}

function tail(text, lines = 3) {
  return String(text || '').trim().split(/\r?\n/).slice(-lines).join(' ').trim();
}

function versionAtLeast(version, minimum) {
  const parts = String(version).split('.').map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < minimum.length; i += 1) {
    if ((parts[i] || 0) !== minimum[i]) return (parts[i] || 0) > minimum[i];
  }
  return true;
}

/**
 * What the probe of `candidate` found, from how it ended: `result` is { error, code, stdout,
 * stderr } (error: the spawn error, with node's `code` such as 'ENOENT', or `killed` when it
 * timed out). Returns { ok: true, python, relive, executable } or { ok: false, problem,
 * message, install? } where `message` is for the user (it names the interpreter and where it
 * came from, and what to do) and `install` is the command that would install relive there.
 */
function interpretProbe(candidate, result = {}) {
  const who = describe(candidate);
  const { error, stdout, stderr } = result;
  const fail = (problem, message, extra = {}) => ({ ok: false, problem, message, ...extra });
  if (error && (error.code === 'ENOENT' || error.code === 'EACCES' || error.code === 'ENOTDIR')) {
    const what = error.code === 'EACCES' ? 'cannot be run (permission denied)' : 'was not found';
    return fail('not-found', `relive: ${who} ${what}. ${whatToDo(candidate)}`);
  }
  if (error && (error.killed || error.signal)) {
    return fail('timeout', `relive: ${who} did not answer within the time allowed; is it a ` +
      'working Python interpreter?');
  }
  if (candidate.kind === 'relive') {
    const out = `${stdout || ''}\n${stderr || ''}`;
    if (!result.code && !(error && typeof error.code === 'number') && /relive dap/.test(out)) {
      return { ok: true, python: undefined, relive: undefined, executable: candidate.command };
    }
    const detail = tail(stderr || stdout);
    return fail('failed', `relive: ${who} could not serve the Debug Adapter Protocol ` +
      `(${commandLine(candidate.command, ['dap', '--help'])} failed${detail ? `: ${detail}` : ''})` +
      `. Upgrade relive there, or point relive.path at a Python interpreter that has relive.`);
  }
  const found = lastJsonLine(stdout);
  if (!found) {
    const detail = tail(stderr || stdout || (error && error.message));
    return fail('failed', `relive: ${who} did not run as a Python interpreter` +
      `${detail ? ` (${detail})` : ''}. ${whatToDo(candidate)}`);
  }
  const label = describeFound(candidate, found);
  if (found.implementation !== 'cpython' || !versionAtLeast(found.python, MIN_PYTHON)) {
    const impl = found.implementation === 'cpython' ? 'CPython' : found.implementation;
    return fail('unsupported', `relive needs CPython ${MIN_PYTHON.join('.')} or newer; ` +
      `${who} is ${impl} ${found.python}. ${whatToDo(candidate)}`);
  }
  if (found.missing) {
    const install = installCommand(candidate, found.executable);
    return fail('not-installed', `relive is not installed in ${label}. Install it there with ` +
      `\`${commandLine(install.command, install.args)}\`, or choose another interpreter.`,
    { install });
  }
  if (found.error && !found.dap) {
    const install = installCommand(candidate, found.executable, true);
    return fail('broken', `relive in ${label} does not import: ${found.error}. Reinstall it ` +
      `with \`${commandLine(install.command, install.args)}\`.`, { install });
  }
  if (!found.dap) {
    const install = installCommand(candidate, found.executable, true);
    const version = found.relive ? ` ${found.relive}` : '';
    return fail('too-old', `relive${version} in ${label} has no DAP adapter (relive dap). ` +
      `Upgrade it with \`${commandLine(install.command, install.args)}\`.`, { install });
  }
  return { ok: true, python: found.python, relive: found.relive || undefined,
    executable: found.executable || candidate.command };
}

/**
 * Probe `candidate` with `run(command, args)`, a function that runs a program and resolves
 * to { error, code, stdout, stderr } (it never rejects); see interpretProbe for the answer.
 */
async function probe(candidate, run) {
  const { command, args } = probeCommand(candidate);
  let result;
  try {
    result = await run(command, args);
  } catch (error) {
    result = { error };
  }
  return interpretProbe(candidate, result || {});
}

/**
 * The interpreter that the Python extension has selected for `resource` (a Uri or
 * undefined), from its API object `api` (the extension's `exports`): the environments API
 * (getActiveEnvironmentPath and resolveEnvironment), else the older
 * settings.getExecutionDetails. Resolves to a path or undefined; never rejects.
 */
async function pythonFromExtensionApi(api, resource) {
  if (!api) return undefined;
  try {
    const environments = api.environments;
    if (environments && typeof environments.getActiveEnvironmentPath === 'function') {
      const active = environments.getActiveEnvironmentPath(resource);
      let resolved;
      if (active && typeof environments.resolveEnvironment === 'function') {
        resolved = await environments.resolveEnvironment(active);
      }
      const executable = resolved && resolved.executable && resolved.executable.uri;
      if (executable && executable.fsPath) return executable.fsPath;
      // an environment without its own interpreter (a bare conda env): its path is a folder
      if (active && active.path && isInterpreter(active.path)) return active.path;
      return undefined;
    }
    const settings = api.settings;
    if (settings && typeof settings.getExecutionDetails === 'function') {
      const details = settings.getExecutionDetails(resource);
      const exec = details && details.execCommand;
      // ["conda", "run", ...] is not an interpreter to run `-m relive dap` with
      if (Array.isArray(exec) && exec.length === 1 && exec[0]) return exec[0];
    }
  } catch (_) {
    return undefined;
  }
  return undefined;
}

module.exports = {
  SOURCES,
  PROBE_SCRIPT,
  MIN_PYTHON,
  expandPath,
  isInterpreter,
  chooseAdapter,
  adapterCommand,
  probeCommand,
  interpretProbe,
  probe,
  describe,
  commandLine,
  shellQuote,
  pythonFromExtensionApi,
};
