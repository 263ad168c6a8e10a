// The image's entry point (Dockerfile: `node dist/cli/serve.js`): its first argument picks what
// the process serves.
//   (none), all                one process with every part, as `npm start` (cli/main.ts)
//   gateway, http, api, integrations (or a list: gateway,http)
//                              those parts' listeners, on the shared bus and registry (cli/main.ts)
//   function                   the Knative function MOORING_FUNCTION names (cli/function.ts)
//   controller                 the push-Trigger controller (cli/controller.ts)
// Each of those modules starts on import and reads its arguments and the environment itself.

const [first] = process.argv.slice(2);
if (first === 'function') await import('./function.ts');
else if (first === 'controller') await import('./controller.ts');
else await import('./main.ts');
