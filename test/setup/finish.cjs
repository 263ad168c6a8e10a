// Preloaded by the test runner (uvu -r). uvu sets process.exitCode after its summary but does not
// exit, so one leaked socket or timer would hang the whole suite. Once the summary is printed this
// waits a moment for a natural exit, then names what is still open (so the leak can be fixed)
// and exits with uvu's code. A suite whose `before` hook throws shows as (0 / N) without a
// failure, and uvu then exits 0: the exit code also fails when the summary's Total is more than
// Passed + Skipped.
'use strict';
const write = process.stdout.write.bind(process.stdout);
let armed = false;
let summary = '';
process.stdout.write = function (chunk, ...rest) {
  const text = String(chunk);
  if (/Total:|Passed:|Skipped:/.test(text) || summary !== '') summary += text;
  if (!armed && text.includes('Duration:')) {
    armed = true;
    const count = (name) => Number((summary.match(new RegExp(`${name}:\\s*(\\d+)`)) || [])[1] || 0);
    const unaccounted = count('Total') - count('Passed') - count('Skipped');
    if (unaccounted > 0) {
      // After uvu's own line is out, on a line of its own (the log interleaves stdout and stderr).
      setImmediate(() => process.stderr.write(`\ntest runner: ${unaccounted} test(s) did not pass (failed, or a suite's before hook threw)\n`));
      // uvu sets process.exitCode after this summary; the exit listener has the last word.
      process.on('exit', () => { process.exitCode = 1; });
    }
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'TTYWrap');
      if (open.length > 0) process.stderr.write(`test runner: still open after the summary: ${open.join(', ')}\n`);
      process.exit(unaccounted > 0 ? 1 : (process.exitCode ?? 0));
    }, 2000).unref();
  }
  return write(chunk, ...rest);
};
