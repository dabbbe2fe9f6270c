// Every configuration variable of the project, in one place. Services read them in main.ts only.
import { LOG_LEVELS } from "@llm/log";
import { address, bool, int, list, oneOf, type Parser, string, url } from "./parsers.js";

export interface ConfigVar<T> {
  doc: string;
  /** The value when the variable is unset or empty; undefined means "not configured". */
  default: T | undefined;
  parse: Parser<T>;
}

function variable<T>(doc: string, parse: Parser<T>, defaultValue: T): ConfigVar<T>;
function variable<T>(doc: string, parse: Parser<T>): ConfigVar<T> & { default: undefined };
function variable<T>(doc: string, parse: Parser<T>, defaultValue?: T): ConfigVar<T> {
  return { doc, parse, default: defaultValue };
}

const port = int({ min: 0, max: 65_535 });
const positive = int({ min: 1 });
const nonNegative = int({ min: 0 });

export const EXECUTION_PROVIDERS = ["cuda", "webgpu", "cpu"] as const;

export const REGISTRY = {
  LLM_HOST: variable("Interface the service's gRPC server binds to.", string, "127.0.0.1"),
  LLM_PORT: variable(
    "Port of the service's gRPC server; 0 picks a free one (printed in the `listening` line on stdout).",
    port,
    0,
  ),
  LLM_HTTP_PORT: variable("Port of the gateway's OpenAI-compatible HTTP API; 0 picks a free one.", port, 0),
  LLM_HTTP_MAX_BODY_BYTES: variable(
    "Largest request body the gateway's HTTP API reads; past it: 413 (keep above LLM_MAX_INPUT_BYTES plus JSON).",
    positive,
    4_194_304,
  ),
  LLM_HTTP_REQUEST_TIMEOUT_MS: variable(
    "Deadline of an HTTP generation (504 past it); a request's `X-Request-Timeout-Ms` header may only shorten it.",
    positive,
    600_000,
  ),
  LLM_HTTP_STALL_TIMEOUT_MS: variable(
    "How long a streamed HTTP response waits for a client that stopped reading before cancelling the generation.",
    positive,
    30_000,
  ),
  LLM_API_KEYS: variable(
    "API keys accepted by the gateway (HTTP bearer token, gRPC `authorization` metadata), each the key or " +
      "`sha256:<hex digest of the key>`; unset: no authentication (local mode).",
    list(string),
  ),
  LLM_API_KEY_MAX_CONCURRENT: variable("Most requests one API key may have in flight at the gateway.", positive, 16),
  LLM_METRICS_PORT: variable("Port of the Prometheus `/metrics` endpoint; unset disables it.", port),
  LLM_LOG_LEVEL: variable("Least severe log level written.", oneOf(LOG_LEVELS), "info"),
  LLM_MODELS_DIR: variable(
    "Folder holding one sub-folder per model (relative paths: from the working directory).",
    string,
    "models",
  ),
  LLM_MODEL_ID: variable(
    "Id of the model to serve; its folder is LLM_MODELS_DIR/<id> unless LLM_MODEL_DIR is set. " +
      "Unset: the folder name of LLM_MODEL_DIR, else the bundled `demo` model.",
    string,
  ),
  LLM_MODEL_DIR: variable(
    "Folder of the model to serve, in the Hugging Face ONNX layout; overrides LLM_MODELS_DIR/LLM_MODEL_ID.",
    string,
  ),
  LLM_MODEL_FILE: variable(
    "Which ONNX file of the model folder the runner loads: a file name under onnx/, a path relative to the folder, " +
      "or a dtype name mapped to onnx-community's file names (fp32 → model.onnx, fp16 → model_fp16.onnx, q4 → " +
      "model_q4.onnx, q4f16 → model_q4f16.onnx, int8 → model_int8.onnx, uint8, q8 → model_quantized.onnx, bnb4); " +
      "external data files (*.onnx_data) are read from beside it. A missing file is named at startup.",
    string,
    "model.onnx",
  ),
  LLM_SPECULATIVE: variable(
    "Speculative decoding for requests that do not choose: off, ngram (prompt lookup, no model) or draft " +
      "(LLM_DRAFT_MODEL_DIR's model). Exact either way: the same tokens as plain decoding.",
    oneOf(["off", "ngram", "draft"]),
    "off",
  ),
  LLM_DRAFT_MODEL_DIR: variable(
    "Folder of the draft model for speculative decoding (the served model's tokenizer, a fraction of its cost); " +
      "unset: requests cannot ask for `draft`.",
    string,
  ),
  LLM_DRAFT_MODEL_FILE: variable("Which ONNX file of the draft's folder (as LLM_MODEL_FILE).", string, "model.onnx"),
  LLM_SPECULATIVE_MAX_LOOKAHEAD: variable(
    "Most tokens proposed per sequence and step; the policy lowers it with a sequence's acceptance rate.",
    int({ min: 1, max: 16 }),
    4,
  ),
  LLM_SPECULATIVE_MAX_BATCH: variable(
    "Decode batch size above which no sequence speculates (verification then costs more than it saves: " +
      "bench/speculative.ts measures the crossover).",
    nonNegative,
    8,
  ),
  LLM_SPECULATIVE_POLICY: variable(
    "How many tokens speculating sequences propose: load-aware (from each one's acceptance and the measured cost " +
      "of a proposal, only where verifying measures faster than plain decoding) or fixed (always " +
      "LLM_SPECULATIVE_MAX_LOOKAHEAD up to LLM_SPECULATIVE_MAX_BATCH rows: for hardware whose crossover you measured).",
    oneOf(["load-aware", "fixed"] as const),
    "load-aware",
  ),
  LLM_TOKENIZER_URL: variable("gRPC address of the tokenizer service.", address),
  LLM_SPECIAL_TOKEN_TEXT: variable(
    "What special-token text typed in a prompt or a chat message (such as `<|im_end|>`) becomes: `control` " +
      "encodes it as the control token, as Hugging Face does; `reject` refuses the request (INVALID_ARGUMENT naming " +
      "the token and where it is), so users cannot forge turns or end-of-text.",
    oneOf(["control", "reject"] as const),
    "control",
  ),
  LLM_CHAT_TEMPLATE: variable(
    "A Jinja chat-template file used instead of the model's own (tokenizer_config.json or chat_template.jinja); " +
      "a model with neither answers chat requests with FAILED_PRECONDITION naming this setting.",
    string,
  ),
  LLM_RUNNER_URL: variable("gRPC address of the model-runner service (local mode).", address),
  LLM_SAMPLER_URL: variable("gRPC address of a remote sampler service; unset: the runner samples in-process.", address),
  LLM_CONSTRAINT_COMPILE_TIMEOUT_MS: variable(
    "Longest a sampler may spend compiling one constraint (JSON schema, regex, grammar) before refusing it with " +
      "INVALID_ARGUMENT; compiled constraints are cached. 0 disables the limit.",
    nonNegative,
    2000,
  ),
  LLM_SAMPLER_RING_DIR: variable(
    "With LLM_SAMPLER_URL: a directory the runner and a co-located sampler share in memory (/dev/shm, or a pod's " +
      "memory-backed volume) where each step's logits go through a ring file, only a control message crossing gRPC. " +
      "When the sampler cannot open it (another host) the runner logs why and sends logits in messages. Unset: messages.",
    string,
  ),
  LLM_SAMPLER_PRUNE: variable(
    "With LLM_SAMPLER_URL and no ring: send only the candidate tokens that can matter (the survivors of top-k/top-p/" +
      "min-p, greedy's best) when the strategy declares it needs no more; false: always full rows.",
    bool,
    true,
  ),
  LLM_SAMPLER_PLUGINS: variable(
    "Modules with extra sampling strategies for the sampler service, comma-separated (paths relative to the " +
      "working directory, or package names); each exports `register(registry)` or default-exports it. Unset: built-ins only.",
    list(string),
  ),
  LLM_DETOKENIZER_URL: variable("gRPC address of the detokenizer service.", address),
  LLM_GATEWAY_URL: variable("gRPC address of the gateway, for clients such as the CLI.", address),
  LLM_REDIS_URL: variable(
    "Redis for cluster mode (queues, token streams, shared prefix cache); unset: local mode. With " +
      "LLM_REDIS_CLUSTER, comma-separated seed nodes of a Redis Cluster (credentials and TLS of the first apply to all).",
    list(url(["redis", "rediss"])),
  ),
  LLM_REDIS_CLUSTER: variable(
    "LLM_REDIS_URL names nodes of a Redis Cluster (each model's keys share one hash tag, so one slot); false: one standalone Redis.",
    bool,
    false,
  ),
  LLM_REDIS_OUTAGE_WINDOW_MS: variable(
    "Cluster mode: a Redis outage (restart, failover, network blip) shorter than this costs no request in flight: " +
      "runners generate on and hold their token events, gateways keep reading; longer, those requests fail " +
      "UNAVAILABLE. New requests get UNAVAILABLE at once while Redis is down. 0: in-flight requests fail at once too.",
    nonNegative,
    5000,
  ),
  LLM_OTLP_ENDPOINT: variable("OTLP/HTTP collector for traces and metrics; unset: no export.", url(["http", "https"])),
  LLM_TRACE_CONTENT: variable(
    "Record prompt and completion text on the gateway's request span (gen_ai.input/output.messages, each cut at " +
      "16 KiB); false: traces carry token counts only, never text.",
    bool,
    false,
  ),
  LLM_MAX_INPUT_BYTES: variable(
    "Largest prompt accepted, in UTF-8 bytes (text, or chat message contents plus tool-call arguments and tools).",
    positive,
    1_048_576,
  ),
  LLM_EMBEDDER_URL: variable(
    "Local mode: gRPC address of the embedder service; unset: the gateway serves no embedding model (/v1/embeddings " +
      "answers 404). Cluster mode ignores it: embeddings go through their model's queue to the embedders.",
    address,
  ),
  LLM_EMBED_MAX_BATCH_TOKENS: variable(
    "Most padded tokens (inputs × longest input) the embedder runs in one batch; an input longer alone runs alone.",
    positive,
    8192,
  ),
  LLM_EMBED_INTRA_OP_THREADS: variable(
    "ONNX Runtime intra-op threads of the embedder's session; unset: ONNX Runtime's default (one per core). On a " +
      "box shared with other busy processes 1 is faster (bench/RESULTS.md, embeddings).",
    positive,
  ),
  LLM_EMBED_MAX_BATCH_INPUTS: variable("Most inputs the embedder runs in one batch.", positive, 64),
  LLM_EMBED_MAX_INPUTS: variable(
    "Most inputs one embeddings request may carry (OpenAI's limit is 2,048); past it: INVALID_ARGUMENT (HTTP 400).",
    positive,
    2048,
  ),
  LLM_EMBED_QUEUE_CONCURRENCY: variable(
    "Cluster mode: embedding requests one embedder takes from its model's queue at once (their inputs share its " +
      "length batches); the rest wait in the queue for any embedder with room.",
    positive,
    16,
  ),
  LLM_MAX_BATCH_SIZE: variable("Most sequences the runner decodes together in one engine step.", positive, 8),
  LLM_MAX_STEP_TOKENS: variable(
    "Most tokens one engine step computes (decode rows plus prefill chunks); bounds a step's latency. Must exceed LLM_MAX_BATCH_SIZE.",
    positive,
    512,
  ),
  LLM_PREFILL_CHUNK_TOKENS: variable(
    "Longest piece of a prompt prefilled in one step while other requests decode, so their streams keep flowing.",
    positive,
    256,
  ),
  LLM_KV_CACHE_BYTES: variable(
    "Most bytes the runner's KV cache of running sequences may hold.",
    positive,
    268_435_456,
  ),
  LLM_PREFIX_CACHE_BYTES: variable(
    "Most bytes of the runner's in-memory prefix-cache tier; 0 disables it.",
    nonNegative,
    134_217_728,
  ),
  LLM_PREFIX_CACHE_TTL_S: variable("Lifetime of prefix-cache blocks in the Redis tier, in seconds.", positive, 3600),
  LLM_RUNNER_ID: variable(
    "Name of this model-runner in cluster mode (its own queue and its published hot prefix blocks); " +
      "unique per runner. Unset: <hostname>-<pid>.",
    string,
  ),
  LLM_PREFIX_CACHE_REDIS_DTYPE: variable(
    "How the Redis prefix-cache tier stores K/V blocks: float32 (exact) or float16 (half the bytes moved; " +
      "values rounded to half precision). Readers accept both.",
    oneOf(["float32", "float16"] as const),
    "float32",
  ),
  LLM_EXECUTION_PROVIDERS: variable(
    "ONNX Runtime execution providers to try, in order; the runner falls back to the next one with a logged reason.",
    list(oneOf(EXECUTION_PROVIDERS)),
    [...EXECUTION_PROVIDERS],
  ),
  LLM_SHUTDOWN_GRACE_MS: variable(
    "On SIGTERM, how long in-flight calls may finish before they are cut off.",
    nonNegative,
    10_000,
  ),
  LLM_MAX_INFLIGHT: variable(
    "Most requests the gateway serves at once; past it new ones get RESOURCE_EXHAUSTED.",
    positive,
    256,
  ),
  LLM_MAX_QUEUE_DEPTH: variable(
    "Most jobs waiting for a runner per model in cluster mode, on its shared queue and the runners' own queues " +
      "together (checked atomically at admission); past it: RESOURCE_EXHAUSTED.",
    positive,
    1024,
  ),
  LLM_MAX_QUEUE_TOKENS: variable(
    "Most tokens (prompt + max_tokens of each request) waiting for a runner per model in cluster mode, checked " +
      "with LLM_MAX_QUEUE_DEPTH at admission; past it: RESOURCE_EXHAUSTED (a request larger than it alone: INVALID_ARGUMENT).",
    positive,
    1_048_576,
  ),
  LLM_QUEUE_RETRY_AFTER_MS: variable(
    "Retry hint sent with RESOURCE_EXHAUSTED when a model's queue is full (cluster mode), in milliseconds.",
    positive,
    1000,
  ),
  LLM_QUEUE_LOCK_MS: variable(
    "How long a runner's claim on a job lasts without renewal (cluster mode): a runner that dies has its " +
      "jobs taken over by another after about this long plus LLM_QUEUE_STALLED_INTERVAL_MS.",
    positive,
    30_000,
  ),
  LLM_QUEUE_STALLED_INTERVAL_MS: variable(
    "How often each runner looks for jobs whose runner died (cluster mode), in milliseconds.",
    positive,
    15_000,
  ),
  LLM_QUEUE_MAX_STALLED: variable(
    "Takeovers one job may have before it fails (cluster mode): a job that kills every runner must not loop.",
    positive,
    2,
  ),
  LLM_QUEUE_KEEP_FINISHED: variable(
    "Finished (and failed) jobs BullMQ keeps per queue for inspection; older ones are removed.",
    nonNegative,
    100,
  ),
  LLM_STREAM_TTL_MS: variable(
    "Lifetime of a request's token stream in Redis while it waits or runs (refreshed when a runner takes it).",
    positive,
    600_000,
  ),
  LLM_STREAM_RESUME_TTL_MS: variable(
    "How long a finished request's token stream stays in Redis for a client to resume it after a gateway " +
      "restart (the gateway deletes it at once when it delivered the end itself).",
    positive,
    60_000,
  ),
  LLM_TEST_REDIS_URL: variable(
    "Tests only: the Redis the test suite uses (packages/testing); services started by tests inherit it and ignore it.",
    url(["redis", "rediss"]),
  ),
  LLM_ORT_CUDA_LIBS: variable(
    "GPU benchmark bundle only (bench/gpu/run.sh): a folder with ONNX Runtime's CUDA provider libraries.",
    string,
  ),
  LLM_KV_AWARE_ROUTING: variable(
    "Route each request to the runner holding its longest cached prefix (cluster mode); false: every request goes on the model's shared queue.",
    bool,
    true,
  ),
} satisfies Record<`LLM_${string}`, ConfigVar<unknown>>;

export type ConfigName = keyof typeof REGISTRY;

/** The type readConfig gives a variable: its parsed type, or undefined when it has no default. */
export type ConfigValue<N extends ConfigName> =
  (typeof REGISTRY)[N] extends ConfigVar<infer T>
    ? (typeof REGISTRY)[N]["default"] extends undefined
      ? T | undefined
      : T
    : never;
