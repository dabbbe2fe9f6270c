export { codeOfGrpcStatus, ERROR_CODES, type ErrorCode, grpcStatusOf, httpStatusOf, isErrorCode } from "./codes.js";
export { DETAILS_KEY, fromGrpcError, RETRY_AFTER_MS_KEY, toGrpcError } from "./grpc.js";
export {
  INTERNAL_ERROR_MESSAGE,
  isLlmError,
  LlmError,
  type LlmErrorOptions,
  toLlmError,
} from "./llm-error.js";
