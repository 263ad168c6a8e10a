// Running a function as a Knative Service: the CloudEvents HTTP binding and the server.
// The entry point that picks the function by MOORING_FUNCTION is ./main.ts.

export { fromHttp, toBinaryHttp, percentEncode, percentDecode, hasCloudEvent, isJsonContentType, type HttpHeaders, type HttpMessage } from './binding.ts';
export { serve, type ServeHandle, type ServeOptions } from './serve.ts';
