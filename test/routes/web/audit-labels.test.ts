import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import admin from '../../../src/i18n/messages/admin.js';
import { AUDIT_TARGET_TYPES } from '../../../src/models/audit.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** Every action the code writes today; the scan below must find at least these (so a broken scan cannot pass by finding nothing). */
const KNOWN_ACTIONS = [
  'login', 'login.failed', 'logout', 'setup.admin_created',
  'user.created', 'user.disabled', 'user.enabled', 'user.password_reset', 'user.password_changed', 'user.role_changed', 'user.updated', 'user.preferences',
  'token.created', 'token.revoked',
  'database.migrated', 'database.backup',
  'license.created', 'license.updated', 'license.suspended', 'license.unsuspended',
  'client.created', 'client.updated',
  'infobase.locked', 'infobase.unlocked',
  'settings.updated', 'settings.support_contact',
  'monitor.resolve_names',
  'session.terminate', 'session.command.stop', 'session.command.closePackage', 'session.command.message',
  'host.reset', 'host.pool_clear', 'host.pool_clear_all', 'host.shared_package_close',
];
const KNOWN_TARGET_TYPES = ['api_token', 'client', 'host', 'infobase', 'license', 'session', 'settings', 'user'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

interface Scan {
  actions: Set<string>;
  targetTypes: Set<string>;
  /** Places whose value the scan cannot enumerate: each needs a literal (or a union of literals) so it can be labelled. */
  unreadable: string[];
}

/**
 * Reads every `recordAudit(…)` call in src with the type checker: an action
 * given as a literal, a conditional, or a template over literal-union types
 * (`session.command.${cmd.type}`) is expanded to all its values.
 */
function scanAuditWrites(): Scan {
  const files = sourceFiles(path.join(ROOT, 'src')).filter((f) => readFileSync(f, 'utf8').includes('recordAudit('));
  const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const program = ts.createProgram(files, { ...config!.options, noEmit: true });
  const checker = program.getTypeChecker();
  const scan: Scan = { actions: new Set(), targetTypes: new Set(), unreadable: [] };
  const where = (node: ts.Node) => {
    const sf = node.getSourceFile();
    return `${path.relative(ROOT, sf.fileName)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };

  /** The string values an expression can take, or null when its type is not made of string literals. */
  const values = (e: ts.Expression): string[] | null => {
    if (ts.isTemplateExpression(e)) {
      let out = [e.head.text];
      for (const span of e.templateSpans) {
        const parts = values(span.expression);
        if (!parts) return null;
        out = out.flatMap((prefix) => parts.map((p) => prefix + p + span.literal.text));
      }
      return out;
    }
    if (ts.isConditionalExpression(e)) {
      const [a, b] = [values(e.whenTrue), values(e.whenFalse)];
      return a && b ? [...a, ...b] : null;
    }
    const type = checker.getTypeAtLocation(e);
    const members = type.isUnion() ? type.types : [type];
    const out: string[] = [];
    for (const m of members) {
      if (m.isStringLiteral()) out.push(m.value);
      else if (!(m.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined))) return null;
    }
    return out;
  };
  const collect = (e: ts.Expression, into: Set<string>) => {
    const v = values(e);
    if (v) v.forEach((x) => into.add(x));
    else scan.unreadable.push(`${where(e)}: ${e.getText()}`);
  };

  for (const file of files) {
    const sf = program.getSourceFile(file)!;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'recordAudit') {
        const entry = node.arguments[2];
        const action = entry && ts.isObjectLiteralExpression(entry)
          ? entry.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === 'action')
          : undefined;
        if (action) collect(action.initializer, scan.actions);
        else scan.unreadable.push(`${where(node)}: recordAudit without an inline "action:"`);
      }
      // Target types may come through a helper (`...userLabel(u)`), so every `targetType:` in these files counts.
      if (ts.isPropertyAssignment(node) && node.name.getText() === 'targetType') collect(node.initializer, scan.targetTypes);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return scan;
}

const missing = (keys: string[]) => ({
  en: keys.filter((k) => !(admin.en[k] ?? '').trim()),
  ru: keys.filter((k) => !(admin.ru[k] ?? '').trim()),
});

describe('audit labels', () => {
  let scan: Scan;
  beforeAll(() => {
    scan = scanAuditWrites();
  }, 60_000);

  it('can enumerate every action and target type written by recordAudit in src', () => {
    expect(scan.unreadable).toEqual([]);
    expect([...scan.actions]).toEqual(expect.arrayContaining(KNOWN_ACTIONS));
    expect([...scan.targetTypes]).toEqual(expect.arrayContaining(KNOWN_TARGET_TYPES));
  });

  it('only recordAudit writes audit rows', () => {
    const writers = sourceFiles(path.join(ROOT, 'src')).filter((f) => /insertInto\(\s*['"]audit_log['"]/.test(readFileSync(f, 'utf8')));
    expect(writers.map((f) => path.relative(ROOT, f))).toEqual([path.join('src', 'models', 'audit.ts')]);
  });

  it('every action written has an English and a Russian label', () => {
    const keys = [...new Set([...scan.actions, ...KNOWN_ACTIONS])].map((a) => `admin.audit.action.${a}`);
    expect(missing(keys)).toEqual({ en: [], ru: [] });
  });

  it('every target type written has an English and a Russian name', () => {
    const keys = [...new Set([...scan.targetTypes, ...KNOWN_TARGET_TYPES])].map((type) => `admin.audit.target_type.${type}`);
    expect(missing(keys)).toEqual({ en: [], ru: [] });
  });

  it('the target type filter offers every target type written', () => {
    expect([...AUDIT_TARGET_TYPES].sort()).toEqual([...new Set([...scan.targetTypes, ...KNOWN_TARGET_TYPES])].sort());
  });
});
