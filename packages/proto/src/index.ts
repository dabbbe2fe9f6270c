// Generated contracts (`npm run build:proto` writes ./gen from proto/), plus the protobuf-es runtime helpers
// re-exported so every package uses the same copy of @bufbuild/protobuf as the generated code.

export {
  clone,
  create,
  equals,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
export { timestampDate, timestampFromDate, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
export * from "./gen/grpc/health/v1/health_pb.js";
export * from "./gen/grpc/reflection/v1/reflection_pb.js";
export * from "./gen/llm/v1/common_pb.js";
export * from "./gen/llm/v1/detokenizer_pb.js";
export * from "./gen/llm/v1/embedder_pb.js";
export * from "./gen/llm/v1/generation_pb.js";
export * from "./gen/llm/v1/model_runner_pb.js";
export * from "./gen/llm/v1/sampler_pb.js";
export * from "./gen/llm/v1/tokenizer_pb.js";
