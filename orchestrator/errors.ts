// Errors the CLI maps to exit codes (DESIGN.md): 1 an assertion failed, 2 bad input, 3 infrastructure.

/** Base of every error that carries its own exit code and a message meant for the user. */
export class LeiosnetError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad input (profile, flag, file): exit code 2, message names the field and why. */
export class UserError extends LeiosnetError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 2, options);
  }
}

/** Where a profile value came from: a file position or a `--set` flag. */
export type SourceLocation = { file: string; line: number; col: number } | { set: string };

export interface ProfileIssue {
  /** Field path as shown to users, e.g. `generator.tps` or `scenario.steps[2].fault.node`. */
  path: string;
  location?: SourceLocation;
  message: string;
}

export function formatLocation(loc: SourceLocation | undefined): string {
  if (!loc) return '';
  return 'set' in loc ? `--set ${loc.set}` : `${loc.file}:${loc.line}:${loc.col}`;
}

export function formatIssue(issue: ProfileIssue): string {
  const where = formatLocation(issue.location);
  return [where, issue.path, issue.message].filter((s) => s !== '').join(': ');
}

/** A profile that cannot be loaded or resolved. One line per issue, most relevant first. */
export class ProfileError extends UserError {
  readonly issues: ProfileIssue[];
  constructor(issues: ProfileIssue[] | ProfileIssue, options?: ErrorOptions) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.map(formatIssue).join('\n'), options);
    this.issues = list;
  }
}

/** Infrastructure failure (runtime, Docker, Kubernetes, ports): exit code 3. */
export class InfraError extends LeiosnetError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 3, options);
  }
}
