/** Why a uv command failed, read from its stderr. */
export interface UvFailure {
  /** The requirement at fault (`numpy==99.0`, `modelgate-no-such-package`), when uv names one. */
  readonly package?: string;
  /** uv's own explanation on one line: its `error:` line and the causes after it. */
  readonly detail: string;
}

/** Long enough for uv's resolver explanations, short enough for a log line and a status page. */
const MAX_DETAIL_CHARS = 600;

/**
 * The package patterns uv 0.13 prints (its resolver's "Because …" sentences
 * and its build/download errors), most specific first. Each captures the
 * requirement as the user wrote it where uv repeats it.
 */
const PACKAGE_PATTERNS: readonly RegExp[] = [
  // "Because foo was not found in the package registry and you require foo==1.0, …"
  /Because (\S+) was not found in the package registry and you require (\S+?),/,
  /Because (\S+) was not found in the package registry/,
  // "Because there is no version of numpy==99.0 and you require numpy==99.0, …"
  /there is no version of (\S+?) and/,
  // "Because foo==1.0 needs to be downloaded from a registry" (offline, not in the cache)
  /Because (\S+?) needs to be downloaded from a registry/,
  // "× Failed to build `foo==1.0`", "Failed to download `foo==1.0`"
  /Failed to (?:build|download|fetch|install|prepare) `([^`]+)`/,
  // "Because only foo<2 is available and you require foo>=2, …"
  /Because only \S+ is available and you require (\S+?),/,
];

/** Reads uv's stderr (run with NO_COLOR, so plain text) for the package it could not install. */
export function parseUvFailure(stderr: string): UvFailure {
  return { package: findPackage(stderr), detail: explanation(stderr) };
}

function findPackage(text: string): string | undefined {
  for (const pattern of PACKAGE_PATTERNS) {
    const match = pattern.exec(text);
    if (match) return match[match.length - 1];
  }
  return undefined;
}

/** From uv's first `error:` (or `×`) line on, one line, bounded. */
function explanation(text: string): string {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  const start = lines.findIndex((line) => /^(error:|×)/.test(line));
  const relevant = (start >= 0 ? lines.slice(start) : lines).filter(
    (line) => line !== '' && !line.startsWith('Using Python'),
  );
  const oneLine = relevant
    .join(' ')
    .replace(/[╰─▶│├]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (oneLine === '') return 'uv failed without a message';
  return oneLine.length > MAX_DETAIL_CHARS ? `${oneLine.slice(0, MAX_DETAIL_CHARS)}…` : oneLine;
}
