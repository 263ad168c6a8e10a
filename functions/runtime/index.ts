// Running a function as a Knative Service: the server (the CloudEvents HTTP binding it speaks is
// events/bindings/http.ts).
// The entry point that picks the function by MOORING_FUNCTION is ./main.ts.

export { serve, type ServeHandle, type ServeOptions } from './serve.ts';
