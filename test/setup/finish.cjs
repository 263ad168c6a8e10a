// Preloaded by the test runner (uvu -r). uvu sets process.exitCode after its summary but does not
// exit, so one leaked socket or timer would hang the whole suite. Once the summary is printed this
// waits a moment for a natural exit, then names what is still open (so the leak can be fixed)
// and exits with uvu's code.
'use strict';
const write = process.stdout.write.bind(process.stdout);
let armed = false;
process.stdout.write = function (chunk, ...rest) {
  if (!armed && String(chunk).includes('Duration:')) {
    armed = true;
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'TTYWrap');
      if (open.length > 0) process.stderr.write(`test runner: still open after the summary: ${open.join(', ')}\n`);
      process.exit(process.exitCode ?? 0);
    }, 2000).unref();
  }
  return write(chunk, ...rest);
};
