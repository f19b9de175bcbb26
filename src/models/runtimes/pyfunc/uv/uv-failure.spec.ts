import { parseUvFailure } from './uv-failure';

/** Verbatim stderr of uv 0.13.9 on this machine, one case each. */
const STDERR = {
  notFound:
    'Using Python 3.11.7 environment at: /tmp/env\n' +
    'error: No solution found when resolving dependencies\n' +
    '  cause: Because modelgate-no-such-package was not found in the package registry and you require ' +
    'modelgate-no-such-package==1.0, we can conclude that your requirements are unsatisfiable.\n',
  noVersion:
    'Using Python 3.11.7 environment at: /tmp/env\n' +
    'error: No solution found when resolving dependencies\n' +
    '  cause: Because there is no version of numpy==99.0 and you require numpy==99.0, we can conclude ' +
    'that your requirements are unsatisfiable.\n',
  offline:
    'error: No solution found when resolving dependencies\n' +
    '  cause: Because requests==2.0.0 needs to be downloaded from a registry and you require requests==2.0.0, ' +
    'we can conclude that your requirements are unsatisfiable.\n\n' +
    'hint: Packages were unavailable because the network was disabled.\n',
  build:
    '  × Failed to build `broken==0.1`\n  ├─▶ The build backend returned an error\n  ╰─▶ Call to `setuptools.build_meta.build_wheel` failed (exit status: 1)\n',
};

describe(parseUvFailure.name, () => {
  it('names the requirement of a package the index does not have', () => {
    expect(parseUvFailure(STDERR.notFound).package).toBe('modelgate-no-such-package==1.0');
  });

  it('names the requirement whose version does not exist', () => {
    expect(parseUvFailure(STDERR.noVersion).package).toBe('numpy==99.0');
  });

  it('names the requirement uv could not download offline', () => {
    expect(parseUvFailure(STDERR.offline).package).toBe('requests==2.0.0');
  });

  it('names the requirement that failed to build', () => {
    expect(parseUvFailure(STDERR.build).package).toBe('broken==0.1');
  });

  it("keeps uv's explanation on one line, from its error line on", () => {
    const { detail } = parseUvFailure(STDERR.notFound);

    expect(detail).toMatch(/^error: No solution found when resolving dependencies cause: Because/);
    expect(detail).not.toContain('\n');
    expect(detail).not.toContain('Using Python');
  });

  it('drops the tree drawing of build errors', () => {
    expect(parseUvFailure(STDERR.build).detail).toBe(
      '× Failed to build `broken==0.1` The build backend returned an error Call to ' +
        '`setuptools.build_meta.build_wheel` failed (exit status: 1)',
    );
  });

  it('names no package when uv names none', () => {
    expect(parseUvFailure('error: Failed to open file `x`: No such file').package).toBeUndefined();
  });

  it('bounds a long explanation', () => {
    expect(parseUvFailure(`error: ${'x'.repeat(5000)}`).detail.length).toBeLessThanOrEqual(601);
  });

  it('says so when uv printed nothing', () => {
    expect(parseUvFailure('').detail).toBe('uv failed without a message');
  });
});
