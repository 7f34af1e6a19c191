'use strict';
// Launch and attach configurations of type "relive": the ones offered, and the defaults
// filled in before a session starts. Pure: no VS Code here.

const path = require('path');

const TYPE = 'relive';
const HOT_RELOAD = Object.freeze(['auto', 'manual', 'never']);
const REMAP = Object.freeze(['auto', 'ask']);
const CONSOLE = Object.freeze(['internalConsole', 'integratedTerminal', 'externalTerminal']);

// what Run > Add Configuration... and the Run and Debug view offer
const TEMPLATES = Object.freeze({
  file: Object.freeze({
    name: 'relive: Current File', type: TYPE, request: 'launch', program: '${file}',
    console: 'integratedTerminal',
  }),
  module: Object.freeze({
    name: 'relive: Module', type: TYPE, request: 'launch', module: 'package',
    cwd: '${workspaceFolder}', console: 'integratedTerminal',
  }),
  attach: Object.freeze({
    name: 'relive: Attach to Process', type: TYPE, request: 'attach',
    processId: '${command:pickProcess}',
  }),
});

/** A template as a new object (`changes` merged in). */
function template(kind, changes = {}) {
  return { ...TEMPLATES[kind], ...changes };
}

function isEmpty(config) {
  return !config || (!config.type && !config.request && !config.name);
}

function oneOf(config, key, allowed) {
  const value = config[key];
  if (value === undefined || allowed.includes(value)) return undefined;
  return `"${key}" is ${JSON.stringify(value)}; it must be one of ${allowed.join(', ')}`;
}

/**
 * Split a command line into arguments as a POSIX shell does (quotes and backslashes; no
 * expansion): `args` may be written as one string.
 */
function splitArgs(text) {
  const out = [];
  let current = '';
  let inArg = false;
  let quote = null;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = null; else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) {
        i += 1;
        current += text[i];
      } else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inArg = true;
    } else if (c === '\\' && i + 1 < text.length) {
      i += 1;
      current += text[i];
      inArg = true;
    } else if (/\s/.test(c)) {
      if (inArg) out.push(current);
      current = '';
      inArg = false;
    } else {
      current += c;
      inArg = true;
    }
  }
  if (inArg) out.push(current);
  return out;
}

/**
 * The configuration to start, from what the user gave (before variables are substituted):
 *   config: the launch configuration (empty when F5 is pressed without a launch.json)
 *   activeFile: { path, languageId } of the active editor, if any
 *   settings: { hotReload } (the relive.* settings of the folder)
 *   workspaceFolder: the folder's path, if any
 * Returns { config } or { error } (a message for the user; `openLaunchJson` when the fix is
 * in launch.json).
 */
function resolveConfiguration(config, { activeFile, settings = {}, workspaceFolder } = {}) {
  let out;
  if (isEmpty(config)) {
    if (!activeFile || activeFile.languageId !== 'python' || !activeFile.path) {
      return { error: 'relive: open a Python file to run it with Edit and Continue, or add a ' +
        'launch configuration (Run > Add Configuration...).' };
    }
    out = template('file', { program: activeFile.path });
  } else {
    out = { ...config };
  }
  out.type = out.type || TYPE;
  out.request = out.request || 'launch';
  out.name = out.name || (out.request === 'attach' ? TEMPLATES.attach.name : TEMPLATES.file.name);
  const named = `The relive configuration "${out.name}"`;
  if (out.request !== 'launch' && out.request !== 'attach') {
    return { error: `${named} has request ${JSON.stringify(out.request)}: it must be launch ` +
      'or attach.', openLaunchJson: true };
  }
  if (out.hotReload === undefined || out.hotReload === null || out.hotReload === '') {
    out.hotReload = HOT_RELOAD.includes(settings.hotReload) ? settings.hotReload : 'auto';
  }
  const problems = [oneOf(out, 'hotReload', HOT_RELOAD), oneOf(out, 'remap', REMAP)];
  if (out.request === 'launch') {
    problems.push(oneOf(out, 'console', CONSOLE));
    const hasProgram = Boolean(out.program);
    const hasModule = Boolean(out.module);
    if (!hasProgram && !hasModule) {
      problems.push('it needs "program" (a Python file) or "module" (run as python -m)');
    } else if (hasProgram && hasModule) {
      problems.push('it has both "program" and "module": keep one');
    }
    if (typeof out.args === 'string') out.args = splitArgs(out.args);
    if (out.cwd === undefined || out.cwd === '') {
      if (workspaceFolder) out.cwd = workspaceFolder;
      else if (hasProgram && path.isAbsolute(out.program)) out.cwd = path.dirname(out.program);
    }
  } else if ((out.processId === undefined || out.processId === '') && !out.session) {
    out.processId = TEMPLATES.attach.processId;
  }
  const found = problems.filter(Boolean);
  if (found.length) return { error: `${named}: ${found.join('; ')}.`, openLaunchJson: true };
  return { config: out };
}

/**
 * The last checks, once variables are substituted: a picked process id becomes a number.
 * Returns { config } or { error }.
 */
function resolveSubstituted(config) {
  const out = { ...config };
  if (out.request === 'attach' && out.processId !== undefined) {
    const text = String(out.processId).trim();
    if (!/^\d+$/.test(text) || Number(text) <= 0) {
      return { error: `The relive configuration "${out.name}": "processId" must be a process ` +
        `id (a number), not ${JSON.stringify(out.processId)}.`, openLaunchJson: true };
    }
    out.processId = Number(text);
  }
  return { config: out };
}

module.exports = {
  TYPE,
  HOT_RELOAD,
  REMAP,
  CONSOLE,
  TEMPLATES,
  template,
  splitArgs,
  resolveConfiguration,
  resolveSubstituted,
};
