// The Handlebars environment and options campaign messages are rendered with, and the check that a
// variant's templates compile with them. Pure: no I/O. Shared code, not part of the tracking module: the
// experiments schemas refuse a template that does not compile, and the renderer (src/modules/tracking),
// which itself imports experiments, renders with the same environment.
import Handlebars from 'handlebars';

/** An isolated Handlebars environment: helpers or partials registered elsewhere cannot leak into mail. */
export const handlebars = Handlebars.create();

/** HTML templates escape by default; subject and text are not HTML, so they are compiled without it. */
export type TemplateMode = 'html' | 'plain';

/** Each templated field of email content, and how the renderer compiles it. */
export const EMAIL_TEMPLATE_FIELDS = { subject: 'plain', html: 'html', text: 'plain', preheader: 'html' } as const satisfies Record<string, TemplateMode>;

export function compileOptions(mode: TemplateMode): CompileOptions {
  return { strict: false, noEscape: mode === 'plain' };
}

export interface TemplateProblem {
  /** 1-based line of the template where the compiler stopped, when it says. */
  line?: number;
  /** What is wrong, on one line. */
  reason: string;
}

function problemOf(error: unknown): TemplateProblem {
  const err = error as { message?: unknown; lineNumber?: unknown };
  const message = typeof err?.message === 'string' ? err.message : String(error);
  // Handlebars' own errors carry the line; the parser's say "Parse error on line N:" or "Lexical error on line N."
  const line = typeof err?.lineNumber === 'number' ? err.lineNumber : Number(/\bon line (\d+)/.exec(message)?.[1] ?? NaN);
  const lines = message.split('\n');
  let reason: string;
  if (/^(Parse|Lexical) error on line \d+/.test(message)) {
    // "Parse error on line N:", the text around the error, a caret, then what was expected.
    const near = lines[1] ? ` near "${lines[1]}"` : '';
    const detail = lines[0].startsWith('Lexical') ? lines[0].replace(/^Lexical error on line \d+\.\s*/, '') : (lines[3] ?? lines[0]);
    reason = `${detail}${near}`;
  } else {
    reason = lines[0].replace(/ - \d+:\d+$/, '');
  }
  reason = reason.replace(/\s+/g, ' ').trim().slice(0, 300);
  return Number.isInteger(line) && line > 0 ? { line, reason } : { reason };
}

/**
 * Why `source` does not compile as the renderer compiles it, or undefined when it does. Precompiling
 * runs the parser and the compiler (Handlebars.compile is lazy: it would only fail at the first send).
 */
export function templateProblem(source: string, mode: TemplateMode): TemplateProblem | undefined {
  try {
    handlebars.precompile(source, compileOptions(mode));
    return undefined;
  } catch (error) {
    return problemOf(error);
  }
}

/** One issue per templated field of email content that does not compile, named by field. */
export function emailTemplateProblems(content: Record<string, unknown>): { field: keyof typeof EMAIL_TEMPLATE_FIELDS; message: string }[] {
  const problems: { field: keyof typeof EMAIL_TEMPLATE_FIELDS; message: string }[] = [];
  for (const [field, mode] of Object.entries(EMAIL_TEMPLATE_FIELDS) as [keyof typeof EMAIL_TEMPLATE_FIELDS, TemplateMode][]) {
    const source = content[field];
    if (typeof source !== 'string') continue;
    const problem = templateProblem(source, mode);
    if (problem) problems.push({ field, message: `template does not compile${problem.line ? ` (line ${problem.line})` : ''}: ${problem.reason}` });
  }
  return problems;
}
